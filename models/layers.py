"""Find and list the layers of any Keras model shape: Sequential, functional, or nested.

A layer inside a nested model (a backbone used as a layer) is addressed by its path,
``"backbone/block_16_project"``; a bare name works too when it is unique in the whole tree.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import keras


class LayerNotFoundError(ValueError):
    """No layer, or more than one, answers to the given name."""


# Names that start a block's layers: "conv2_block1_1_conv" -> "conv2_block1", "block_16_project" -> "block_16",
# "block3a_se" -> "block3a", "convnext_tiny_stage_1_block_0_depthwise_conv" -> "convnext_tiny_stage_1_block_0".
_BLOCK = re.compile(r"^(.*(?:block|stage)_?\d+[a-z]?)(?:_|$)")
# Names that end a block whose other layers carry generic names (Inception's "mixed7" concatenation).
_BLOCK_END = re.compile(r"^mixed\d+$")


@dataclass(frozen=True)
class LayerInfo:
    path: str
    class_name: str
    output_shape: tuple[int | None, ...] | None
    """None for a layer used more than once (it has no single output)."""
    parameters: int = 0
    block: str = ""
    """The architecture block it belongs to, read from layer names: ``stem`` before the first, ``head`` after."""

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def shape_text(self) -> str:
        """The output shape without the batch dimension, e.g. ``7x7x1280`` (``—`` when it has none)."""
        return "—" if self.output_shape is None else "x".join(str(d) for d in self.output_shape[1:])

    @property
    def is_spatial(self) -> bool:
        """A 4-D output, (batch, height, width, channels): usable by the CAM methods."""
        return self.output_shape is not None and len(self.output_shape) == 4


def _walk(model: keras.Model, prefix: str = "") -> Iterator[tuple[str, keras.layers.Layer]]:
    for layer in model.layers:
        path = f"{prefix}{layer.name}"
        if isinstance(layer, keras.Model):
            yield from _walk(layer, f"{path}/")
        else:
            yield path, layer


def iter_layers(model: keras.Model) -> Iterator[keras.layers.Layer]:
    """Every leaf layer of the model, nested models opened up, in graph order."""
    for _, layer in _walk(model):
        yield layer


def _output_shape(layer: keras.layers.Layer) -> tuple[int | None, ...] | None:
    try:
        shape = layer.output.shape
    except (AttributeError, ValueError):
        return None  # a layer used more than once, or never called on a symbolic input
    return tuple(shape)


def _parameters(layer: keras.layers.Layer) -> int:
    return int(layer.count_params()) if layer.built else 0


def _blocks(paths: list[str]) -> list[str]:
    """Each layer's block: named by a block-start name, or ended by a block-end name; else inherited."""
    names = [path.rpartition("/")[2] for path in paths]
    blocks: list[str | None] = [None] * len(paths)
    for index, name in enumerate(names):
        start = _BLOCK.match(name)
        if start:
            blocks[index] = start.group(1)
        elif _BLOCK_END.match(name):
            blocks[index] = name
            earlier = index - 1
            while earlier >= 0 and blocks[earlier] is None:
                blocks[earlier] = name
                earlier -= 1
    named = [index for index, block in enumerate(blocks) if block is not None]
    if not named:
        return ["all layers"] * len(paths)
    for index in range(len(paths)):
        if blocks[index] is None:
            blocks[index] = "stem" if index < named[0] else "head" if index > named[-1] else blocks[index - 1]
    return [
        f"{path.rpartition('/')[0]}/{block}" if "/" in path else block
        for path, block in zip(paths, blocks, strict=True)
    ]


def describe_layers(model: keras.Model) -> list[LayerInfo]:
    """Every leaf layer, nested models opened up, in graph order: output shape, parameters, block."""
    walked = list(_walk(model))
    blocks = _blocks([path for path, _ in walked])
    return [
        LayerInfo(path, type(layer).__name__, _output_shape(layer), _parameters(layer), block)
        for (path, layer), block in zip(walked, blocks, strict=True)
    ]


def spatial_layers(model: keras.Model) -> list[LayerInfo]:
    """Layers whose output is 4-D (batch, height, width, channels), in graph order."""
    return [info for info in describe_layers(model) if info.is_spatial]


def default_cam_layer(model: keras.Model) -> str | None:
    """The recommended CAM layer: the last 4-D output wider than 1x1 (the most semantic layer that still
    has a spatial map), else the last 4-D output, else None."""
    layers = spatial_layers(model)
    wide = [info for info in layers if any((d or 2) > 1 for d in info.output_shape[1:3])]
    return (wide or layers)[-1].path if layers else None


def find_layer(model: keras.Model, name: str) -> keras.layers.Layer:
    """The layer at ``name`` (a path such as ``"backbone/conv"``, or a bare name unique in the tree)."""
    matches = [layer for path, layer in _walk(model) if path == name]
    if not matches and "/" not in name:
        matches = [layer for path, layer in _walk(model) if layer.name == name]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise LayerNotFoundError(f"layer name {name!r} is ambiguous; use its path, e.g. 'backbone/{name}'")
    raise LayerNotFoundError(f"model {model.name!r} has no layer {name!r}")
