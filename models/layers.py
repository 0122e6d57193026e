"""Find and list the layers of any Keras model shape: Sequential, functional, or nested.

A layer inside a nested model (a backbone used as a layer) is addressed by its path,
``"backbone/block_16_project"``; a bare name works too when it is unique in the whole tree.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import keras


class LayerNotFoundError(ValueError):
    """No layer, or more than one, answers to the given name."""


@dataclass(frozen=True)
class LayerInfo:
    path: str
    class_name: str
    output_shape: tuple[int | None, ...]

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


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


def spatial_layers(model: keras.Model) -> list[LayerInfo]:
    """Layers whose output is 4-D (batch, height, width, channels), in graph order."""
    found = []
    for path, layer in _walk(model):
        shape = _output_shape(layer)
        if shape is not None and len(shape) == 4:
            found.append(LayerInfo(path, type(layer).__name__, shape))
    return found


def default_cam_layer(model: keras.Model) -> str | None:
    """The last layer with a 4-D output: the usual choice for Grad-CAM, or None if there is none."""
    layers = spatial_layers(model)
    return layers[-1].path if layers else None


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
