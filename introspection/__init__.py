"""Inside the network: what each layer computes for one image, and how the class score's gradient flows back.

Public API::

    from introspection import record_layers
    recording = record_layers(model, inputs, target)       # one forward and backward pass, every layer
    activity = recording.activity("block_16_project")      # one layer: channel maps, contributions, dead units
    flow = recording.flow()                                # per layer: activation and gradient norms

Works on Sequential, functional and nested models, through the engine's compiled functions
(``explainers``). No Streamlit import here.
"""

from introspection.activations import LayerActivity, LayerFlow, LayerRecording, inspectable_layers, record_layers

__all__ = ["LayerActivity", "LayerFlow", "LayerRecording", "inspectable_layers", "record_layers"]
