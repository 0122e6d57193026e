"""Inside the network: what each layer computes for one image, and how the class score's gradient flows back.

Public API::

    from introspection import record_layers
    recording = record_layers(model, inputs, target, keep=("head_relu6",))  # one pass, forward and back
    activity = recording.activity("head_relu6")            # one layer: channel maps, contributions, dead units
    recording.flow                                         # per layer: activation and gradient norms
    weights = layer_weights(model, "stem_conv")            # kernel, bias (or batch norm's vectors), norms

Works on Sequential, functional and nested models, through the engine's compiled functions
(``explainers``). No Streamlit import here.
"""

from introspection.activations import LayerActivity, LayerFlow, LayerRecording, inspectable_layers, record_layers
from introspection.feature_visualization import Settings, Visualization, predict_picture, visualize
from introspection.weights import LayerWeights, first_conv_layer, kernel_pictures, layer_weights, weighted_layers

__all__ = [
    "LayerActivity",
    "LayerFlow",
    "LayerRecording",
    "LayerWeights",
    "Settings",
    "Visualization",
    "first_conv_layer",
    "inspectable_layers",
    "kernel_pictures",
    "layer_weights",
    "predict_picture",
    "record_layers",
    "visualize",
    "weighted_layers",
]
