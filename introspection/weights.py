"""What a layer has learned, read from its weights: first-layer filters as pictures, weight and bias
distributions, per-layer norms, the spatial pattern of a conv kernel, batch-norm scales and shifts.

Showing the first layer's kernels as small colour images is as old as the deep-learning era's first
visualisations (Krizhevsky, Sutskever & Hinton, 2012, fig. 3; Zeiler & Fergus, 2014): there the weights act on
pixels directly, so they can be looked at as pixels. Deeper kernels act on feature maps and are summarised.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from models.layers import LayerInfo, describe_layers, find_layer

KINDS = {
    "conv": "convolution",
    "depthwise": "depthwise convolution",
    "dense": "dense (fully connected)",
    "batch_norm": "batch normalisation",
}


def _kind(layer: keras.layers.Layer) -> str | None:
    if isinstance(layer, keras.layers.DepthwiseConv2D):
        return "depthwise"
    if isinstance(layer, (keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D)):
        return "conv"
    if isinstance(layer, keras.layers.Dense):
        return "dense"
    if isinstance(layer, keras.layers.BatchNormalization):
        return "batch_norm"
    return None


@dataclass(frozen=True)
class LayerWeights:
    """One layer's learned values: a kernel and bias (conv, dense), or batch norm's four vectors."""

    layer: LayerInfo
    kind: str
    """A key of :data:`KINDS`."""
    kernel: np.ndarray | None = None
    """(kh, kw, in, out) for a 2-D conv, (kh, kw, in, multiplier) depthwise, (in, out) dense."""
    bias: np.ndarray | None = None
    gamma: np.ndarray | None = None
    beta: np.ndarray | None = None
    moving_mean: np.ndarray | None = None
    moving_variance: np.ndarray | None = None
    epsilon: float = 0.0

    @property
    def kernel_norm(self) -> float | None:
        return None if self.kernel is None else float(np.linalg.norm(self.kernel.astype(np.float64).ravel()))

    @property
    def bias_norm(self) -> float | None:
        return None if self.bias is None else float(np.linalg.norm(self.bias.astype(np.float64)))

    def spatial_pattern(self) -> np.ndarray | None:
        """For a 2-D conv kernel: the mean |weight| at each kernel position (kh, kw), over every input and output
        channel — where in its window the layer looks."""
        if self.kernel is None or self.kernel.ndim != 4:
            return None
        return np.abs(self.kernel).mean(axis=(2, 3))

    def effective_scale(self) -> np.ndarray | None:
        """For batch norm: what each channel is multiplied by at inference, gamma / sqrt(variance + epsilon)."""
        if self.kind != "batch_norm":
            return None
        gamma = self.gamma if self.gamma is not None else np.ones_like(self.moving_variance)
        return gamma / np.sqrt(self.moving_variance + self.epsilon)


def layer_weights(model: keras.Model, path: str, info: LayerInfo | None = None) -> LayerWeights | None:
    """The weights of the layer at ``path``, or None for a layer with none this module reads."""
    layer = find_layer(model, path)
    kind = _kind(layer)
    if kind is None or not layer.built:
        return None
    info = info or next(i for i in describe_layers(model) if i.path == path)
    if kind == "batch_norm":
        return LayerWeights(
            info,
            kind,
            gamma=None if layer.gamma is None else np.asarray(layer.gamma.numpy()),
            beta=None if layer.beta is None else np.asarray(layer.beta.numpy()),
            moving_mean=np.asarray(layer.moving_mean.numpy()),
            moving_variance=np.asarray(layer.moving_variance.numpy()),
            epsilon=float(layer.epsilon),
        )
    bias = getattr(layer, "bias", None)
    return LayerWeights(
        info, kind, np.asarray(layer.kernel.numpy()), None if bias is None else np.asarray(bias.numpy())
    )


def weighted_layers(model: keras.Model) -> list[LayerWeights]:
    """Every layer with weights this module reads, in graph order (nested models opened up)."""
    found = []
    for info in describe_layers(model):
        weights = layer_weights(model, info.path, info)
        if weights is not None:
            found.append(weights)
    return found


def first_conv_layer(model: keras.Model) -> str | None:
    """The path of the first 2-D convolution that sees the image (not a depthwise one), or None."""
    for info in describe_layers(model):
        layer = find_layer(model, info.path)
        if isinstance(layer, keras.layers.Conv2D) and not isinstance(layer, keras.layers.DepthwiseConv2D):
            return info.path
    return None


def kernel_pictures(kernel: np.ndarray, joint: bool = False, bgr: bool = False) -> np.ndarray:
    """A 2-D conv kernel (kh, kw, in, out) as ``out`` pictures (out, kh, kw, 3) of uint8: in colour when it reads
    three channels (``bgr``: reversed to RGB, for models fed BGR), in gray when it reads one (or, for other
    counts, the mean over them). Each kernel is stretched to 0..255 by its own range, or, ``joint``, all by the
    range of all of them, so that their strengths compare; 128 is zero in the joint scale."""
    if kernel.ndim != 4:
        raise ValueError(f"a 2-D conv kernel has 4 axes (kh, kw, in, out), not shape {kernel.shape}")
    pictures = np.moveaxis(kernel.astype(np.float64), -1, 0)  # (out, kh, kw, in)
    if pictures.shape[-1] == 3:
        pictures = pictures[..., ::-1] if bgr else pictures
    else:
        pictures = np.repeat(pictures.mean(axis=-1, keepdims=True), 3, axis=-1)
    if joint:
        extent = float(np.abs(pictures).max()) or 1.0
        scaled = pictures / (2.0 * extent) + 0.5
    else:
        low = pictures.min(axis=(1, 2, 3), keepdims=True)
        span = pictures.max(axis=(1, 2, 3), keepdims=True) - low
        scaled = (pictures - low) / np.where(span > 0, span, 1.0)
    return np.clip(np.rint(scaled * 255.0), 0, 255).astype(np.uint8)
