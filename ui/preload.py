"""Load and compile the default model while the server starts, and compute the first page's maps, so the first
visitor does not wait for them.

``python -m ui.serve`` (what ``scripts/start.sh`` runs) calls :func:`start`; ``ui.cache.load_model`` takes
the model with :func:`take`, once, as soon as it is loaded: its functions go on tracing here (the forward
pass first) while the page shows the image. Then the *landing view* is computed here too: the maps a new
visitor's Compare page asks for first (the model's first sample, its default window, the top class, the
recommended CAM layer, the default methods and seed). They are the same for every visitor and hold nothing
private (a bundled image), so every session may take them (:func:`landing_maps`); anything else a session
computes stays its own. Loading, tracing and these maps take 5-10 s on a 2-core CPU; done here, they overlap the
server's start and the browser's first page load. Without a preload (``streamlit run app.py``, tests through
``AppTest``) models load on first use and every map is computed by the page.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial

import keras

import explainers
from explainers import Explanation
from ui.profile import phase

_LOGGER = logging.getLogger(__name__)
_PENDING: dict[str, Future] = {}


class _LandingView:
    """The landing view's maps by their session cache key (``ui.cache.map_key``), filled as each is computed.

    Between :meth:`begin` and :meth:`expect` the keys are not known yet (the sample's prediction is on its way):
    a page asking for a map then waits for them rather than computing a map the preload is about to compute.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._maps: dict[tuple, Explanation] = {}
        self._expected: set[tuple] = set()
        self._keys_pending = False

    def begin(self) -> None:
        with self._changed:
            self._keys_pending = True

    def expect(self, keys: set[tuple]) -> None:
        with self._changed:
            self._expected |= keys
            self._keys_pending = False
            self._changed.notify_all()

    def put(self, key: tuple, explanation: Explanation) -> None:
        explanation.attribution.setflags(write=False)  # shared by every session: nobody may change it
        with self._changed:
            self._maps[key] = explanation
            self._changed.notify_all()

    def end(self) -> None:
        """Promise nothing more: a map not computed by now (the preload failed) is left to the pages."""
        with self._changed:
            self._expected = set(self._maps)
            self._keys_pending = False
            self._changed.notify_all()

    def as_ready(self, keys: list[tuple]) -> Iterator[tuple[tuple, Explanation]]:
        """Those of ``keys`` that are landing maps, with their maps, as each is computed (waiting for it)."""
        left = set(keys)
        while left:
            with self._changed:
                self._changed.wait_for(partial(self._can_answer, left))
                ready = [(key, self._maps[key]) for key in keys if key in left and key in self._maps]
                left -= {key for key, _ in ready}
                if not ready:
                    return
            yield from ready

    def _can_answer(self, keys: set[tuple]) -> bool:
        """Whether a map of ``keys`` is here, or none of them is coming."""
        return not self._keys_pending and bool(keys & self._maps.keys() or not keys & self._expected)

    def clear(self) -> None:
        with self._changed:
            self._maps.clear()
            self._expected.clear()
            self._keys_pending = False
            self._changed.notify_all()


_LANDING = _LandingView()


def landing_maps(keys: list[tuple]) -> Iterator[tuple[tuple, Explanation]]:
    """Those of ``keys`` (``ui.cache.map_key``) that are the landing view's maps, as ``(key, explanation)`` in the
    order they are computed, waiting while the preload computes them. Nothing for other maps, nor when no preload
    runs or it failed."""
    return _LANDING.as_ready(keys)


def compute_landing_view(name: str, model: keras.Model) -> None:
    """The first page's default maps, each handed to waiting pages as soon as it is computed. The sample is
    predicted first, which traces the forward pass the pages need for their first prediction."""
    import imaging
    import models
    from ui.cache import content_key, map_key

    source = models.get_source(name)
    loaded = imaging.load_sample(imaging.samples_for(source.sample_kind)[0])
    _, inputs = source.prepare(loaded.values, loaded.default_window)
    with phase("preload: predict the landing sample"):
        outputs = explainers.predict(model, inputs[None])[0]
    target = explainers.Prediction(
        explainers.output_kind(model), outputs, explainers.probabilities(model, outputs), source.class_names()
    ).ranked()[0]
    layer = models.default_cam_layer(model)
    image_key = content_key(inputs)
    keys = {m: map_key(image_key, name, m, target, layer, explainers.DEFAULT_SEED) for m in explainers.DEFAULT_METHODS}
    _LANDING.expect(set(keys.values()))
    with phase("preload: trace the gradient function"):
        explainers.warm_up(model, layer)
    with phase("preload: the landing view's maps"):
        for explanation in explainers.explain_many(
            model,
            inputs,
            explainers.DEFAULT_METHODS,
            target=target,
            layer=layer,
            baseline=source.black_image(),
            seed=explainers.DEFAULT_SEED,
        ):
            _LANDING.put(keys[explanation.method], explanation)


def _load_and_compile(name: str, loaded: Future) -> None:
    import models

    try:
        try:
            with phase(f"preload: load {name}"):
                model = models.get_source(name).load()
        except BaseException as error:
            loaded.set_exception(error)  # take() logs it, and the page loads the model again
            return
        loaded.set_result(model)
        compute_landing_view(name, model)  # a page that needs a function before it is traced waits for this trace
    except Exception:
        _LOGGER.warning("computing the landing view of %s failed; pages compute their own maps", name, exc_info=True)
    finally:
        _LANDING.end()


def start(name: str) -> None:
    """Begin loading ``name``, tracing its functions and computing its landing view in a background thread."""
    if name not in _PENDING:
        _PENDING[name] = loaded = Future()
        _LANDING.begin()
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="preload")
        pool.submit(_load_and_compile, name, loaded)
        pool.shutdown(wait=False)  # the thread ends when the landing view's maps are computed


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
