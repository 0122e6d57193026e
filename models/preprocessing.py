"""Preprocessing presets: how RGB pixels on 0..255 become a model's input, and a guess for an unknown model.

The presets are the conventions of the common training pipelines (Keras Applications'
``preprocess_input`` modes ``tf``, ``caffe`` and ``torch``, plus plain 0..1 and raw pixels).
A one-channel model gets the image's luma first (ITU-R BT.601); the per-channel means and
standard deviations are then averaged with the same weights.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import keras
import numpy as np

from models.layers import iter_layers

LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114], np.float32)
# Channel statistics in RGB order.
_CAFFE_MEAN = np.array([123.68, 116.779, 103.939], np.float32)
_TORCH_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
_TORCH_STD = np.array([0.229, 0.224, 0.225], np.float32)


def luma(rgb: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma of RGB (H, W, 3); a gray image (all channels equal) passes through unchanged."""
    if np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2]):
        return rgb[..., 0]
    return rgb @ LUMA_WEIGHTS


@dataclass(frozen=True)
class Preset:
    name: str
    label: str
    description: str

    def apply(self, rgb_0_255: np.ndarray, channels: int = 3) -> np.ndarray:
        """RGB (H, W, 3) on 0..255 -> the model's input (H, W, channels), float32."""
        rgb = np.asarray(rgb_0_255, np.float32)
        if channels == 1:
            return _PRESET_FUNCTIONS[self.name](luma(rgb), gray=True)[..., None].astype(np.float32)
        if channels != 3:
            raise ValueError(f"preprocessing presets take 1- or 3-channel models, not {channels} channels")
        return _PRESET_FUNCTIONS[self.name](rgb, gray=False).astype(np.float32)


def _statistic(rgb_values: np.ndarray, gray: bool) -> np.ndarray | np.float32:
    return np.float32(rgb_values @ LUMA_WEIGHTS) if gray else rgb_values


def _caffe(x: np.ndarray, gray: bool) -> np.ndarray:
    centred = x - _statistic(_CAFFE_MEAN, gray)
    return centred if gray else centred[..., ::-1]  # BGR order, as the Caffe-trained weights expect


_PRESET_FUNCTIONS = {
    "unit": lambda x, gray: x / 255.0,
    "symmetric": lambda x, gray: x / 127.5 - 1.0,
    "caffe": _caffe,
    "torch": lambda x, gray: (x / 255.0 - _statistic(_TORCH_MEAN, gray)) / _statistic(_TORCH_STD, gray),
    "raw": lambda x, gray: x,
}

PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset("unit", "0..1", "pixels divided by 255 — the usual choice for a model trained from scratch"),
        Preset("symmetric", "-1..1", "pixels / 127.5 - 1 — Keras' 'tf' mode (MobileNet, Inception, Xception)"),
        Preset(
            "caffe",
            "Caffe: BGR, ImageNet mean subtracted",
            "channels reversed to BGR and the ImageNet mean subtracted, no scaling (VGG, ResNet)",
        ),
        Preset(
            "torch",
            "Torch: ImageNet mean/std",
            "pixels / 255, then the ImageNet mean subtracted and divided by the standard deviation (DenseNet)",
        ),
        Preset("raw", "raw 0..255", "pixels as they are — for models that rescale inside (EfficientNet, ConvNeXt)"),
    )
}


@dataclass(frozen=True)
class PresetGuess:
    preset: str
    reason: str


# Keras Applications' model names and the preprocessing their weights were trained with.
_KNOWN_ARCHITECTURES = (
    (r"^(vgg1[69]|resnet(50|101|152))$", "caffe", "caffe-style ImageNet weights"),
    (r"^densenet", "torch", "torch-style ImageNet weights"),
    (r"^(mobilenet|xception|inception|nasnet)", "symmetric", "weights trained on -1..1 inputs"),
    (r"^(efficientnet|convnext|regnet|resnet\d+v2_?rs)", "raw", "a model that rescales its input itself"),
)
_LAYERS_TO_SEARCH = 6  # a rescaling layer further in than this is not input preprocessing


def guess_preset(model: keras.Model) -> PresetGuess:
    """The likeliest preset, read from the model itself, and why — to show the user, who can change it."""
    for layer in list(iter_layers(model))[:_LAYERS_TO_SEARCH]:
        if isinstance(layer, keras.layers.Rescaling):
            return PresetGuess("raw", f"its layer '{layer.name}' rescales pixels (x{layer.scale}), so it takes 0..255")
        if isinstance(layer, keras.layers.Normalization):
            return PresetGuess("raw", f"its layer '{layer.name}' normalises the input itself, so it takes 0..255")
    names = [model.name] + [layer.name for layer in model.layers if isinstance(layer, keras.Model)]
    for name in names:
        for pattern, preset, why in _KNOWN_ARCHITECTURES:
            if re.search(pattern, name.lower()):
                return PresetGuess(preset, f"'{name}' looks like a Keras Applications model: {why}")
    return PresetGuess(
        "unit", "no rescaling layer and no known architecture name; most models trained from scratch take 0..1"
    )
