"""Load and compile the default model while the server starts, so the first visitor does not wait for it.

``python -m ui.serve`` (what ``scripts/start.sh`` runs) calls :func:`start`; ``ui.cache.load_model`` takes
the model with :func:`take`, once, as soon as it is loaded: its functions go on tracing here (the forward
pass first) while the page shows the image. Loading and tracing take 3-4 s on a 2-core CPU; done here, they
overlap the server's start and the browser's first page load. Without a preload (``streamlit run app.py``,
tests through ``AppTest``) models load on first use.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor

import keras

_LOGGER = logging.getLogger(__name__)
_PENDING: dict[str, Future] = {}


def _load_and_compile(name: str, loaded: Future) -> None:
    import explainers
    import models

    try:
        model = models.get_source(name).load()
    except BaseException as error:
        loaded.set_exception(error)
        raise
    loaded.set_result(model)
    explainers.warm_up(model)  # a page that needs a function before it is traced waits for this trace


def start(name: str) -> None:
    """Begin loading ``name`` and tracing its functions in a background thread."""
    if name not in _PENDING:
        _PENDING[name] = loaded = Future()
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="preload")
        pool.submit(_load_and_compile, name, loaded)
        pool.shutdown(wait=False)  # the thread ends when the functions are traced


def take(name: str) -> keras.Model | None:
    """The preloaded model (waiting until it is loaded), or None when none was started or loading failed;
    each preload is handed out once."""
    future = _PENDING.pop(name, None)
    if future is None:
        return None
    try:
        return future.result()
    except Exception:  # the caller loads it again and shows that error in the page
        _LOGGER.warning("preloading %s failed", name, exc_info=True)
        return None
