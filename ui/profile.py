"""Where a script run's time goes, phase by phase, for ``bench/click_to_maps.py``.

Off unless the environment variable ``EXPLORER_PROFILE`` names a file: then every :func:`phase`
appends one JSON line ``{"phase", "start", "end", "cpu"}`` (wall-clock seconds, so the benchmark can
line them up with what the browser saw on the same machine; ``cpu``: the process's CPU seconds in the
phase, which tells computing from waiting). Costs one ``if`` when off.
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


def record(name: str, start: float, end: float, cpu: float | None = None) -> None:
    """Log a phase that ran from ``start`` to ``end`` (``time.time()`` seconds), using ``cpu`` seconds of the
    process's CPU time (all its threads: TensorFlow's pools too) when known."""
    path = os.environ.get(PROFILE_ENV)
    if path:
        with _WRITE_LOCK, open(path, "a") as log:
            log.write(json.dumps({"phase": name, "start": start, "end": end, "cpu": cpu}) + "\n")


@contextlib.contextmanager
def phase(name: str) -> Iterator[None]:
    """Log how long the ``with`` block took, under ``name``."""
    if not enabled():
        yield
        return
    start, cpu = time.time(), time.process_time()
    try:
        yield
    finally:
        record(name, start, time.time(), time.process_time() - cpu)
