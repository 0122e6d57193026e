"""A per-user cache for converted models: ``$XDG_CACHE_HOME/explanation-explorer`` (``~/.cache``)."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

import keras

log = logging.getLogger(__name__)
APP_DIR = "explanation-explorer"


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / APP_DIR


def load_or_build(filename: str, build: Callable[[], keras.Model]) -> keras.Model:
    """Load ``filename`` from the cache, or build the model and cache it.

    A missing, truncated or otherwise unreadable file is rebuilt. The write goes to a temporary
    file first and is renamed into place, so a crash or a second process never leaves half a file.
    """
    path = cache_dir() / filename
    if path.exists():
        try:
            return keras.saving.load_model(path, compile=False, safe_mode=True)
        except Exception as error:  # any unreadable cache file is rebuilt, whatever Keras raises
            log.warning("rebuilding unreadable cached model %s: %s", path, error)
    model = build()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.stem}.{os.getpid()}-{threading.get_ident()}.keras")
        model.save(partial)
        os.replace(partial, path)
    except OSError as error:
        log.warning("could not cache %s (%s); it will be rebuilt next time", path, error)
    return model
