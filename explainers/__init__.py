"""Attribution methods for Keras image classifiers, on ``tf.GradientTape`` and ``tf.function``.

Public API::

    from explainers import explain, predict, METHODS
    explanation = explain(model, image, "gradcam")        # image: (H, W, C) in model input space
    explanation.attribution                               # float32 (H, W), not normalised

Works on Sequential, functional and nested models. No Streamlit import here.
"""

from __future__ import annotations

import time
from types import MappingProxyType

import keras
import numpy as np
import tensorflow as tf

from explainers._base import Explanation, Method, MethodInfo, ProgressCallback
from explainers._graph import DEFAULT_MEMORY_BUDGET_BYTES, graph_for
from explainers.gradcam import GradCAM
from explainers.integrated_gradients import IntegratedGradients
from explainers.saliency import Saliency
from explainers.smoothgrad import SmoothGrad
from models.layers import default_cam_layer

__all__ = [
    "DEFAULT_MEMORY_BUDGET_BYTES",
    "METHODS",
    "Explanation",
    "MethodInfo",
    "explain",
    "predict",
    "uses_gpu",
    "warm_up",
]

_IMPLEMENTATIONS: dict[str, Method] = {
    m.info.name: m for m in (Saliency(), SmoothGrad(), GradCAM(), IntegratedGradients())
}

METHODS: MappingProxyType[str, MethodInfo] = MappingProxyType({name: m.info for name, m in _IMPLEMENTATIONS.items()})
"""Method name -> :class:`MethodInfo` (label, description, signed, needs a conv layer, ...)."""


def predict(model: keras.Model, inputs: np.ndarray) -> np.ndarray:
    """The model's outputs (B, K) for a batch of inputs already in the model's input space."""
    return graph_for(model).predict(np.asarray(inputs, np.float32))


def _check_inputs(model: keras.Model, inputs: np.ndarray) -> np.ndarray:
    inputs = np.asarray(inputs, np.float32)
    expected = graph_for(model).input_shape
    if inputs.ndim != len(expected) or any(
        e is not None and e != a for e, a in zip(expected, inputs.shape, strict=True)
    ):
        raise ValueError(f"the model expects one input of shape {expected}, got {inputs.shape}")
    if not np.isfinite(inputs).all():
        raise ValueError("the input contains NaN or infinite values")
    return inputs


def explain(
    model: keras.Model,
    inputs: np.ndarray,
    method: str,
    *,
    target: int | None = None,
    layer: str | None = None,
    progress: ProgressCallback | None = None,
    **options,
) -> Explanation:
    """Attribute the model's score for ``target`` on one input with ``method``.

    ``inputs`` is one float32 array (H, W, C) in the model's input space. ``target`` defaults to
    the top prediction; ``layer`` (CAM methods) defaults to the last layer with a 4-D output.
    ``progress(done, total)`` is called after each batch of multi-sample methods. Method options
    (e.g. ``samples``, ``steps``, ``baseline``, ``memory_budget_bytes``) pass through.
    """
    try:
        implementation = _IMPLEMENTATIONS[method]
    except KeyError:
        raise ValueError(f"unknown method {method!r}; choose from {', '.join(METHODS)}") from None
    unknown = sorted(set(options) - set(implementation.option_names()))
    if unknown:
        accepted = ", ".join(implementation.option_names()) or "none"
        raise ValueError(f"{method} does not take option(s) {', '.join(unknown)}; it takes: {accepted}")
    inputs = _check_inputs(model, inputs)
    graph = graph_for(model)
    if target is None:
        target = int(np.argmax(graph.predict(inputs[None])[0]))
    target = int(target)
    if not 0 <= target < graph.output_size:
        raise ValueError(f"target {target} is outside the model's {graph.output_size} outputs")
    if implementation.info.needs_conv_layer:
        layer = layer or default_cam_layer(model)
        if layer is None:
            raise ValueError(f"{implementation.info.label} needs a conv layer, and this model has none")
    else:
        layer = None
    started = time.perf_counter()
    attribution, extra = implementation.attribute(graph, inputs, target, layer, progress, **options)
    return Explanation(
        method=method,
        target=target,
        layer=layer,
        attribution=attribution,
        elapsed_s=time.perf_counter() - started,
        score_kind=graph.score_kind,
        **extra,
    )


def warm_up(model: keras.Model, layer: str | None = None) -> None:
    """Trace the compiled functions ahead of the first request (a few seconds each on CPU).

    Uses a zero input and discards the results; ``layer`` defaults to the default CAM layer.
    """
    graph = graph_for(model)
    zeros = np.zeros((1, *(d or 1 for d in graph.input_shape)), np.float32)
    graph.predict(zeros)
    graph.batched_gradients(zeros, 0)
    layer = layer or default_cam_layer(model)
    if layer is not None:
        graph.layer_gradient_fn(layer)(tf.constant(zeros), tf.constant(0))


def uses_gpu() -> bool:
    """Whether TensorFlow sees a GPU (the engine then runs there with no change)."""
    return bool(tf.config.list_physical_devices("GPU"))
