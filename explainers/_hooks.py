"""Trace-time hooks: replace a layer's ``call`` or its built-in activation while a ``tf.function`` traces.

The compiled graph keeps what the hooks did; the hooks are removed as soon as the trace ends, so the shared
model is never left changed. Calls from other threads (a session predicting eagerly) see the original layer.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

import keras

_MISSING = object()


@contextlib.contextmanager
def hook(layer: keras.layers.Layer, record: Callable) -> Iterator[None]:
    """Wrap ``layer.call``: ``record(original, args, kwargs)`` runs instead and returns the output."""
    original = layer.call
    previous = layer.__dict__.get("call", _MISSING)  # another hook on the same layer, restored after
    owner = threading.get_ident()

    def hooked(*args, **kwargs):
        if threading.get_ident() != owner:
            return original(*args, **kwargs)
        return record(original, args, kwargs)

    object.__setattr__(layer, "call", hooked)
    try:
        yield
    finally:
        if previous is _MISSING:
            object.__delattr__(layer, "call")
        else:
            object.__setattr__(layer, "call", previous)


def activation_name(layer: keras.layers.Layer) -> str:
    """The name of the layer's activation function (``relu``, ``softmax``, ...), or ``""``."""
    return getattr(getattr(layer, "activation", None), "__name__", "")


@contextlib.contextmanager
def swapped_activation(layer: keras.layers.Layer, activation: Callable) -> Iterator[None]:
    """``layer.activation`` replaced by ``activation``."""
    original = layer.activation
    object.__setattr__(layer, "activation", activation)
    try:
        yield
    finally:
        object.__setattr__(layer, "activation", original)
