"""Every layer's output for one image and the class score's gradient at it, from one compiled pass.

A channel's contribution to the class is its mean gradient (Grad-CAM's channel weight, Selvaraju et al., 2017)
times its mean activation: the contributions of a layer's channels add up to the spatial mean of Grad-CAM's map
at that layer before its ReLU, so they say which channels the Grad-CAM map is made of. The gradient norms per
layer, from the output back to the input, are the backward pass itself made visible (the "gradient flow" of
vanishing/exploding-gradient diagnostics, e.g. Glorot & Bengio, 2010).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import keras
import numpy as np

from explainers._base import upsample
from explainers._graph import graph_for
from models.layers import LayerInfo, describe_layers

RANKINGS = {
    "contribution": "contribution to the class (mean gradient x mean activation)",
    "activation": "mean activation",
}


def inspectable_layers(model: keras.Model) -> list[LayerInfo]:
    """The layers whose output can be shown: every leaf layer with one output (nested models opened up), in
    graph order; input layers and layers used more than once are left out."""
    return [
        info for info in describe_layers(model) if info.output_shape is not None and info.class_name != "InputLayer"
    ]


def _channel_means(values: np.ndarray) -> np.ndarray:
    """The mean over every axis but the last (the channels): positions of a 4-D map, none of a vector."""
    return values.reshape(-1, values.shape[-1]).mean(axis=0) if values.ndim > 1 else values.astype(np.float64)


def _dead_fraction(activations: np.ndarray) -> float:
    """The fraction of channels (units, for a vector) never above zero anywhere in this image."""
    flat = activations.reshape(-1, activations.shape[-1]) if activations.ndim > 1 else activations[None]
    return float(1.0 - (flat > 0).any(axis=0).mean())


@dataclass(frozen=True)
class LayerActivity:
    """What one layer computes for one image, and how the class score depends on it."""

    layer: LayerInfo
    activations: np.ndarray
    """The layer's output without the batch axis: (h, w, K) for a conv layer, (K,) for a dense one."""
    gradients: np.ndarray | None
    """d(class score)/d(activations), same shape; None where the score does not depend on this layer."""

    @property
    def channel_count(self) -> int:
        return int(self.activations.shape[-1])

    @property
    def is_spatial(self) -> bool:
        return self.activations.ndim == 3

    @cached_property
    def mean_activation(self) -> np.ndarray:
        """Per channel, the mean of its map (K,)."""
        return _channel_means(self.activations)

    @cached_property
    def mean_gradient(self) -> np.ndarray | None:
        """Per channel, the mean gradient (K,): Grad-CAM's channel weights."""
        return None if self.gradients is None else _channel_means(self.gradients)

    @cached_property
    def contribution(self) -> np.ndarray | None:
        """Per channel, mean gradient x mean activation (K,); they sum to the mean of Grad-CAM's map before ReLU."""
        return None if self.mean_gradient is None else self.mean_gradient * self.mean_activation

    @property
    def dead_fraction(self) -> float:
        """The fraction of channels never active (> 0) anywhere in this image."""
        return _dead_fraction(self.activations)

    def ranked(self, by: str = "contribution") -> np.ndarray:
        """Channel indices, largest first, by ``contribution`` (falls back to activation where there is no
        gradient) or ``activation``."""
        if by not in RANKINGS:
            raise ValueError(f"rank by one of {', '.join(RANKINGS)}, not {by!r}")
        values = self.contribution if by == "contribution" and self.contribution is not None else self.mean_activation
        return np.argsort(-values, kind="stable")

    def channel(self, index: int) -> np.ndarray:
        """One channel's map (h, w) for a conv layer; its single value as a (1, 1) array for a dense one."""
        return self.activations[..., index] if self.is_spatial else self.activations[..., index].reshape(1, 1)

    def channel_over_input(self, index: int, size: tuple[int, int]) -> np.ndarray:
        """One channel's map resized (bilinear, as Grad-CAM's) to the input's (height, width)."""
        return upsample(self.channel(index).astype(np.float32), size)


@dataclass(frozen=True)
class LayerFlow:
    """One layer's magnitudes on the way forward (activations) and back (the class score's gradient)."""

    layer: LayerInfo
    activation_norm: float
    """L2 norm of the whole output."""
    activation_rms: float
    """Root mean square per element: comparable between layers of different sizes."""
    gradient_norm: float | None
    gradient_rms: float | None
    dead_fraction: float


def _norm_and_rms(values: np.ndarray) -> tuple[float, float]:
    norm = float(np.linalg.norm(values.astype(np.float64).ravel()))
    return norm, norm / float(np.sqrt(values.size))


def _flow(layer: LayerInfo, activations: np.ndarray, gradients: np.ndarray | None) -> LayerFlow:
    activation_norm, activation_rms = _norm_and_rms(activations)
    gradient_norm, gradient_rms = _norm_and_rms(gradients) if gradients is not None else (None, None)
    return LayerFlow(layer, activation_norm, activation_rms, gradient_norm, gradient_rms, _dead_fraction(activations))


@dataclass(frozen=True)
class LayerRecording:
    """One image through the network, forward and back from one class score: every layer's magnitudes, and the
    whole output of the layers asked for (all of them would take 160 MB for EfficientNet-Lite0)."""

    target: int
    score: float
    score_kind: str
    """``logit`` (before a final softmax or sigmoid) or ``output``, as the attribution methods explain."""
    flow: tuple[LayerFlow, ...]
    """Per inspectable layer, in graph order (input side first)."""
    kept: tuple[LayerActivity, ...]

    def activity(self, path: str) -> LayerActivity:
        for activity in self.kept:
            if activity.layer.path == path:
                return activity
        raise KeyError(f"layer {path!r} was not kept in this recording")


def record_layers(model: keras.Model, inputs: np.ndarray, target: int, keep: tuple[str, ...] = ()) -> LayerRecording:
    """Run ``inputs`` (H, W, C, preprocessed) through ``model`` once, forward and back from class ``target``'s
    score (the logit before a final softmax/sigmoid, as the attribution methods), over every layer of
    :func:`inspectable_layers`; the outputs of the ``keep`` layers are kept whole. Compiled once per model, so
    each later call, whatever it keeps, is one pass."""
    infos = inspectable_layers(model)
    missing = set(keep) - {info.path for info in infos}
    if missing:
        raise KeyError(f"no inspectable layer {', '.join(sorted(missing))}")
    graph = graph_for(model)
    score, recorded = graph.every_layer(inputs, target, tuple(info.path for info in infos))
    flow, kept = [], []
    for info in infos:
        if info.path in recorded:
            activations, gradients = recorded[info.path]
            flow.append(_flow(info, activations, gradients))
            if info.path in keep:
                kept.append(LayerActivity(info, activations, gradients))
    return LayerRecording(int(target), score, graph.score_kind, tuple(flow), tuple(kept))
