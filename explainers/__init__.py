"""Attribution methods for Keras image classifiers, on ``tf.GradientTape`` and ``tf.function``.

Public API::

    from explainers import explain, predict, METHODS
    explanation = explain(model, image, "gradcam")        # image: (H, W, C) in model input space
    explanation.attribution                               # float32 (H, W), not normalised

Works on Sequential, functional and nested models. No Streamlit import here.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Iterator
from types import MappingProxyType

import keras
import numpy as np
import tensorflow as tf

from explainers._base import FAMILIES, UNITS, Explanation, Method, MethodInfo, Request, SinglePassMethod
from explainers._graph import DEFAULT_MEMORY_BUDGET_BYTES, OUTPUT_KINDS, graph_for
from explainers._prediction import CHART_TITLES, Prediction, caption
from explainers._reliability import pearson, spearman_brown, split_half_reliability
from explainers._rules import COMPOSITES
from explainers.deeplift import DeepLift
from explainers.gradcam import GradCAM
from explainers.gradcam_plus_plus import GradCAMPlusPlus
from explainers.gradient_input import GradientInput
from explainers.guided_backprop import GuidedBackprop
from explainers.guided_gradcam import GuidedGradCAM
from explainers.integrated_gradients import IntegratedGradients
from explainers.kernel_shap import KernelShap
from explainers.layercam import LayerCAM
from explainers.lime import Lime
from explainers.lrp import LRP
from explainers.occlusion import Occlusion
from explainers.rise import Rise
from explainers.saliency import Saliency
from explainers.scorecam import ScoreCAM
from explainers.smoothgrad import SmoothGrad
from explainers.smoothgrad_squared import SmoothGradSquared
from explainers.vargrad import VarGrad
from models.layers import default_cam_layer, find_layer

__all__ = [
    "CHART_TITLES",
    "DEFAULT_MEMORY_BUDGET_BYTES",
    "DEFAULT_METHODS",
    "DEFAULT_SEED",
    "FAMILIES",
    "LRP_COMPOSITES",
    "METHODS",
    "OUTPUT_KINDS",
    "UNITS",
    "Explanation",
    "MethodInfo",
    "Prediction",
    "batch_size",
    "caption",
    "compute_device",
    "estimated_passes",
    "explain",
    "explain_many",
    "is_warm",
    "methods_by_family",
    "output_kind",
    "pearson",
    "predict",
    "probabilities",
    "replay_options",
    "spearman_brown",
    "split_half_reliability",
    "unavailable_reason",
    "uses_gpu",
    "warm_up",
]

_IMPLEMENTATIONS: dict[str, Method] = {
    method.info.name: method
    for method in (
        Saliency(),
        SmoothGrad(),
        GradCAM(),
        IntegratedGradients(),
        GradientInput(),
        SmoothGradSquared(),
        VarGrad(),
        GradCAMPlusPlus(),
        LayerCAM(),
        ScoreCAM(),
        Occlusion(),
        GuidedBackprop(),
        GuidedGradCAM(),
        DeepLift(),
        LRP(),
        Rise(),
        Lime(),
        KernelShap(),
    )
}

METHODS: MappingProxyType[str, MethodInfo] = MappingProxyType({name: m.info for name, m in _IMPLEMENTATIONS.items()})
"""Method name -> :class:`MethodInfo` (label, description, signed, needs a conv layer, cost, ...)."""

DEFAULT_METHODS = ("saliency", "smoothgrad", "gradcam", "integrated_gradients")
DEFAULT_SEED = 0
"""The app's seed for the sampled methods until the visitor picks another."""

LRP_COMPOSITES: MappingProxyType[str, str] = MappingProxyType({name: c.label for name, c in COMPOSITES.items()})
"""LRP's composites (``explain(..., "lrp", composite=name)``) -> what each applies where."""


def methods_by_family() -> list[str]:
    """Every method name, grouped by family in :data:`FAMILIES` order (registration order within one)."""
    families = list(FAMILIES)
    return sorted(METHODS, key=lambda name: families.index(METHODS[name].family))


ManyProgress = Callable[[str, int, int], None]


def estimated_passes(model: keras.Model, method: str, layer: str | None = None, **options) -> int:
    """How many model evaluations ``method`` costs on ``model`` at these settings (before running it)."""
    implementation = _IMPLEMENTATIONS[method]
    channels = None
    if METHODS[method].needs_conv_layer:
        layer = layer or default_cam_layer(model)
        channels = int(find_layer(model, layer).output.shape[-1]) if layer else None
    return implementation.estimated_passes(graph_for(model).input_shape, channels, **options)


def unavailable_reason(model: keras.Model, method: str, layer: str | None = None) -> str | None:
    """Why ``method`` cannot explain ``model`` (a CAM method without a conv layer, LRP with a layer it has no
    rule for), in a sentence; None when it can."""
    if METHODS[method].needs_conv_layer and (layer or default_cam_layer(model)) is None:
        return f"{METHODS[method].label} needs a conv layer; this model has none."
    return _IMPLEMENTATIONS[method].unavailable(graph_for(model))


def replay_options(explanation: Explanation) -> dict:
    """Options that make the same method redo ``explanation`` (on another model) in at most as many passes."""
    return _IMPLEMENTATIONS[explanation.method].replay_options(explanation.options, explanation.passes)


def predict(model: keras.Model, inputs: np.ndarray, memory_budget_bytes: int | None = None) -> np.ndarray:
    """The model's outputs (B, K) for a batch of inputs already in the model's input space.

    Large batches run in chunks under the activation memory budget (see ``DEFAULT_MEMORY_BUDGET_BYTES``).
    """
    return graph_for(model).predict(np.asarray(inputs, np.float32), memory_budget_bytes)


def batch_size(model: keras.Model, samples: int, memory_budget_bytes: int | None = None) -> int:
    """How many inputs of ``model`` one batch holds under the activation memory budget (at least 1)."""
    return graph_for(model).batch_size(samples, memory_budget_bytes)


def output_kind(model: keras.Model) -> str:
    """What the model's outputs are: a key of :data:`OUTPUT_KINDS` (softmax, logits, binary, multilabel, score)."""
    return graph_for(model).output_kind


def probabilities(model: keras.Model, outputs: np.ndarray) -> np.ndarray | None:
    """Per-class probabilities from :func:`predict`'s outputs; None for a single unbounded score."""
    kind = graph_for(model).output_kind
    if kind == "logits":
        return graph_for(model).probabilities(np.asarray(outputs, np.float32))
    return None if kind == "score" else np.asarray(outputs, np.float32)


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
    baseline: np.ndarray | None = None,
    progress: Callable[[int, int], None] | None = None,
    **options,
) -> Explanation:
    """Attribute the model's score for ``target`` on one input with ``method``.

    ``inputs`` is one float32 array (H, W, C) in the model's input space. ``target`` defaults to
    the top prediction; ``layer`` (CAM methods) defaults to the last layer with a 4-D output;
    ``baseline`` (methods that compare with one) should be a black image in the model's input
    space and defaults to zeros. ``progress(done, total)`` is called after each batch of
    multi-sample methods. Method options (e.g. ``samples``, ``steps``, ``memory_budget_bytes``)
    pass through; an option the method does not take is an error.
    """
    each = None if progress is None else (lambda _method, done, total: progress(done, total))
    (explanation,) = explain_many(
        model, inputs, [method], target=target, layer=layer, baseline=baseline, progress=each, options={method: options}
    )
    return explanation


def explain_many(
    model: keras.Model,
    inputs: np.ndarray,
    methods: list[str] | tuple[str, ...],
    *,
    target: int | None = None,
    layer: str | None = None,
    baseline: np.ndarray | None = None,
    progress: ManyProgress | None = None,
    options: dict[str, dict] | None = None,
    seed: int | None = None,
) -> Iterator[Explanation]:
    """Explain one input with several methods; yield each :class:`Explanation` as soon as it is ready.

    Everything is checked before any work starts. Cheap methods come first, and the single-pass
    methods (saliency, Gradient x Input and the gradient CAMs) share one forward and one backward
    pass. ``options`` maps a method name to its options; ``seed``, when given, seeds every sampled
    method (``MethodInfo.stochastic``) whose options do not name a seed; ``progress(method, done, total)``.
    """
    options = dict(options or {})
    if seed is not None:
        for method in methods:
            if method in METHODS and METHODS[method].stochastic:
                options[method] = {"seed": seed} | options.get(method, {})
    unknown = [m for m in methods if m not in _IMPLEMENTATIONS]
    if unknown:
        raise ValueError(f"unknown method(s) {', '.join(unknown)}; choose from {', '.join(METHODS)}")
    for method, given in options.items():
        accepted = _IMPLEMENTATIONS[method].option_names()
        extra = sorted(set(given) - set(accepted))
        if extra:
            raise ValueError(
                f"{method} does not take option(s) {', '.join(extra)}; it takes: {', '.join(accepted) or 'none'}"
            )
    inputs = _check_inputs(model, inputs)
    graph = graph_for(model)
    if target is None:
        target = int(np.argmax(graph.predict(inputs[None])[0]))
    target = int(target)
    if not 0 <= target < graph.output_size:
        raise ValueError(f"target {target} is outside the model's {graph.output_size} outputs")
    if any(METHODS[m].needs_conv_layer for m in methods):
        layer = layer or default_cam_layer(model)
        if layer is None:
            raise ValueError("the CAM methods need a conv layer, and this model has none")
    for method in methods:
        reason = _IMPLEMENTATIONS[method].unavailable(graph)
        if reason is not None:
            raise ValueError(reason)
    baseline = (
        np.zeros_like(inputs) if baseline is None else np.broadcast_to(np.asarray(baseline, np.float32), inputs.shape)
    )
    return _run(graph, inputs, target, layer, baseline, list(dict.fromkeys(methods)), progress, options)


def _shared_groups(methods: list[str]) -> dict[str, tuple[str, ...]]:
    """For each single-pass method that can share its pass, the methods it shares it with (itself included).

    Methods share when they agree on guided ReLUs; their other needs are merged into one pass.
    """
    groups: dict[bool, list[str]] = {}
    for method in methods:
        implementation = _IMPLEMENTATIONS[method]
        if isinstance(implementation, SinglePassMethod):
            groups.setdefault(implementation.guided, []).append(method)
    return {method: tuple(group) for group in groups.values() if len(group) > 1 for method in group}


def _union_needs(group: tuple[str, ...], layer: str | None) -> dict:
    needs = [_IMPLEMENTATIONS[method].needs(layer) for method in group]
    union = {key: any(n[key] for n in needs) for key in ("input_gradients", "layer_gradients", "guided")}
    return union | {"layer": layer if any(n["layer"] for n in needs) else None}


def _run(graph, inputs, target, layer, baseline, methods, progress, options) -> Iterator[Explanation]:
    ordered = sorted(methods, key=lambda m: METHODS[m].default_passes)
    groups = _shared_groups(ordered)
    passes: dict[tuple[str, ...], tuple[dict, float]] = {}
    for method in ordered:
        implementation = _IMPLEMENTATIONS[method]
        method_layer = layer if METHODS[method].needs_conv_layer else None
        request = Request(graph, inputs, target, method_layer, baseline)
        if progress is not None:
            request.progress = lambda done, total, method=method: progress(method, done, total)
        group, shared_seconds = groups.get(method), 0.0
        if group:
            if group not in passes:
                started = time.perf_counter()
                results = graph.single_pass(inputs, target, **_union_needs(group, layer))
                passes[group] = (results, time.perf_counter() - started)
            request.shared, shared_seconds = passes[group]
        started = time.perf_counter()
        attribution, extra = implementation.attribute(request, **options.get(method, {}))
        if group:
            extra["options"] = extra.get("options", {}) | {"shared_pass_with": [m for m in group if m != method]}
        yield Explanation(
            method=method,
            target=target,
            layer=method_layer,
            attribution=attribution,
            elapsed_s=time.perf_counter() - started + shared_seconds,
            score_kind=graph.score_kind,
            **extra,
        )


def warm_up(model: keras.Model, layer: str | None = None) -> None:
    """Trace the compiled functions ahead of the first request (about a second each on CPU).

    Two functions serve the default methods: the forward pass, and the gradients at ``layer`` (default:
    the default CAM layer), which saliency, SmoothGrad, Integrated Gradients and Grad-CAM share. Uses a
    zero input and discards the results; costs two passes when already traced.
    """
    graph = graph_for(model)
    zeros = np.zeros((1, *(d or 1 for d in graph.input_shape)), np.float32)
    graph.predict(zeros)
    graph.single_pass(zeros[0], 0, layer=layer, input_gradients=True)


def is_warm(model: keras.Model, layer: str | None = None) -> bool:
    """Whether :func:`warm_up` has nothing left to trace for ``model`` at ``layer``."""
    graph = graph_for(model)
    return graph.is_compiled(forward=True) and graph.is_compiled(layer=layer, input_gradients=True)


def uses_gpu() -> bool:
    """Whether TensorFlow sees a GPU (the engine then runs there with no change)."""
    return bool(tf.config.list_physical_devices("GPU"))


@functools.cache
def compute_device() -> str:
    """Where the engine computes, in words: the GPU's name, or the CPU and its cores."""
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return f"CPU ({os.cpu_count()} cores; no GPU visible to TensorFlow)"
    names = [tf.config.experimental.get_device_details(gpu).get("device_name", "GPU") for gpu in gpus]
    return "GPU: " + ", ".join(names) + ("" if len(names) == 1 else " (the first computes)")
