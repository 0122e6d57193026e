"""What is cached where: models shared by all sessions, results private to each session."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import keras
import numpy as np
import streamlit as st

import explainers
import models
from ui import preload
from ui.profile import phase

SESSION_CACHE_BYTES = 256 << 20
SHARED_MODELS = 3


@st.cache_resource(show_spinner=False, max_entries=SHARED_MODELS)
def load_model(name: str) -> keras.Model:
    """One instance per model for the whole server, at most ``SHARED_MODELS`` at once (VGG16 alone takes
    over 500 MB); the engine's compiled functions hang off it.

    The default model comes ready from ``ui.preload`` when the server was started by ``python -m ui.serve``.
    Otherwise nothing is traced here: the forward pass traces on the first prediction and the gradient function
    above the maps (``maps_ui``), so the image and its predictions show while the maps are prepared.
    """
    with phase(f"load {name}"):
        return preload.take(name) or models.get_source(name).load()


def map_key(image_key: str, model_name: str, method: str, target: int, layer: str | None, seed: int) -> tuple:
    """What a map is cached under in the session's ``results``: the layer only for methods that use one, the seed
    only for sampled ones (so a display change or a seed change recomputes nothing it need not)."""
    info = explainers.METHODS[method]
    return (image_key, model_name, method, target, layer if info.needs_conv_layer else None) + (
        (seed,) if info.stochastic else ()
    )


def content_key(*arrays: np.ndarray) -> str:
    """A digest of array contents, to key results by what the image is rather than its name."""
    digest = hashlib.sha256()
    for array in arrays:
        contiguous = np.ascontiguousarray(array)
        digest.update(str((contiguous.shape, contiguous.dtype)).encode())
        digest.update(contiguous.tobytes())
    return digest.hexdigest()


def _size_of(value: Any) -> int:
    """Bytes held by a cached value: its bytes, or the arrays among its fields (an explanation's map, a
    check's maps per stage); 1 KiB for anything else."""
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if isinstance(value, (tuple, list)):
        return sum(_size_of(item) for item in value)
    fields = getattr(value, "__dict__", {})
    arrays = sum(_size_of(item) for item in fields.values() if isinstance(item, (np.ndarray, tuple, list)))
    return arrays or 1024


class SessionCache:
    """A least-recently-used cache bounded by bytes, kept in one browser session's state."""

    def __init__(self, max_bytes: int = SESSION_CACHE_BYTES):
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self.bytes = 0

    def get_or_compute(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        if key in self._items:
            return self.get(key)
        value = compute()
        size = _size_of(value)
        self._items[key] = (value, size)
        self.bytes += size
        while self.bytes > self.max_bytes and len(self._items) > 1:
            _, (_, evicted) = self._items.popitem(last=False)
            self.bytes -= evicted
        return value

    def get(self, key: Hashable) -> Any:
        """The cached value (now the most recently used), or None."""
        if key not in self._items:
            return None
        self._items.move_to_end(key)
        return self._items[key][0]

    def put(self, key: Hashable, value: Any) -> None:
        self.get_or_compute(key, lambda: value)

    def __len__(self) -> int:
        return len(self._items)

    def cached_keys(self) -> list[Hashable]:
        """What is cached, least recently used first (reading it changes nothing)."""
        return list(self._items)


def session_cache(name: str) -> SessionCache:
    """The named cache of the current browser session (created on first use)."""
    key = f"_cache_{name}"
    if key not in st.session_state:
        st.session_state[key] = SessionCache()
    return st.session_state[key]
