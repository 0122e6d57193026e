"""Where a script run's time goes, phase by phase, for ``bench/click_to_maps.py``.

Off unless the environment variable ``EXPLORER_PROFILE`` names a file: then every :func:`phase`
appends one JSON line ``{"phase", "start", "end"}`` (wall-clock seconds, so the benchmark can line
them up with what the browser saw on the same machine). Costs one ``if`` when off.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Iterator

PROFILE_ENV = "EXPLORER_PROFILE"
_WRITE_LOCK = threading.Lock()


def enabled() -> bool:
    return bool(os.environ.get(PROFILE_ENV))


def record(name: str, start: float, end: float) -> None:
    """Log a phase that ran from ``start`` to ``end`` (``time.time()`` seconds)."""
    path = os.environ.get(PROFILE_ENV)
    if path:
        with _WRITE_LOCK, open(path, "a") as log:
            log.write(json.dumps({"phase": name, "start": start, "end": end}) + "\n")


@contextlib.contextmanager
def phase(name: str) -> Iterator[None]:
    """Log how long the ``with`` block took, under ``name``."""
    if not enabled():
        yield
        return
    start = time.time()
    try:
        yield
    finally:
        record(name, start, time.time())
