"""Sessions sharing one server: no uploaded byte on disk, a bounded model cache, a shared model used by
many threads at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import keras
import numpy as np
import pytest
import skimage.data
from PIL import Image, PngImagePlugin

import explainers
import imaging
import models
from tests.conftest import ROOT, build_three_shapes

MARKER = "explorer-upload-marker-5d1c"  # in every uploaded file, to find any copy of one on disk


def marked_uploads(folder: Path) -> Path:
    """The files tests/write_audit.py uploads, each carrying MARKER."""
    folder.mkdir()
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", MARKER)
    Image.fromarray(skimage.data.astronaut()[:64, 200:264]).save(folder / "image.png", pnginfo=text)
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3, name="conv")(inputs))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x), name=MARKER.replace("-", "_"))
    model.save(folder / "model.keras")
    model.save(folder / "model.h5")
    (folder / "names.txt").write_text("".join(f"{MARKER}-{index}\n" for index in range(3)))
    return folder


def files_changed_since(folder: Path, start: float, skip: Path) -> list[Path]:
    changed = []
    for directory, subdirectories, filenames in os.walk(folder):
        if Path(directory).is_relative_to(skip):
            subdirectories.clear()
            continue
        for name in filenames:
            path = Path(directory, name)
            try:
                if path.is_file() and not path.is_symlink() and path.stat().st_mtime >= start:
                    changed.append(path)
            except OSError:  # a file that vanished while we looked
                pass
    return changed


def harmless_write(path: Path, home: Path, private_tmp: Path) -> bool:
    """The writes a session may make, none of them holding what a user uploaded."""
    cache_home = Path(os.environ["XDG_CACHE_HOME"])
    return (
        path == Path(os.devnull)
        or path.is_relative_to(models.cache.cache_dir())  # the bundled model's conversion cache
        or path.is_relative_to(home / ".keras")  # Keras writes keras.json, its settings, on import
        or path in (home / ".config", home / ".config" / "matplotlib", cache_home / "matplotlib")  # folders only
        or path == private_tmp
        # TensorFlow's autograph writes the Python source of each function it compiles (the engine's and
        # Keras' own; an uploaded model carries no Python code: Lambda layers are refused).
        or (path.parent == private_tmp and path.name.startswith("__autograph_generated_file"))
    )


def test_nothing_uploaded_is_written_to_disk(bundled_model, tmp_path):
    """Upload an image, a .h5 and a .keras model and class names; compute maps: no write from Python outside
    the bundled model's cache, and no file changed anywhere writable holds a byte of what was uploaded."""
    uploads = marked_uploads(tmp_path / "uploads")
    home, private_tmp = tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    private_tmp.mkdir()
    env = os.environ | {"HOME": str(home), "TMPDIR": str(private_tmp)}
    start = time.time() - 1  # file systems keep mtimes coarser than time.time()
    result = subprocess.run(
        [sys.executable, "-m", "tests.write_audit", str(uploads)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["problems"] == [] and report["maps"] == 1, report

    unexpected = [path for path in report["written"] if not harmless_write(Path(path), home, private_tmp)]
    assert unexpected == [], unexpected

    marker = MARKER.encode()
    for folder in {home, private_tmp, ROOT, Path(tempfile.gettempdir()), models.cache.cache_dir()}:
        for path in files_changed_since(folder, start, skip=uploads):
            with path.open("rb") as file:
                assert marker not in file.read(), f"{path} holds uploaded data"


def test_the_shared_model_cache_keeps_at_most_three_models(monkeypatch):
    """Loading a fourth model evicts the least recently used one, which is loaded again when asked for."""
    from ui import cache

    loads: list[str] = []

    def fake_source(name: str):
        class Source:
            def load(self) -> keras.Model:
                loads.append(name)
                return keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(2)])

        return Source()

    monkeypatch.setattr(models, "get_source", fake_source)
    cache.load_model.clear()
    try:
        first = cache.load_model("a")
        for name in ("b", "c", "a"):  # "a" used again: "b" is now the least recently used
            cache.load_model(name)
        assert cache.load_model("a") is first and loads == ["a", "b", "c"]
        cache.load_model("d")
        assert loads == ["a", "b", "c", "d"]
        cache.load_model("c")
        cache.load_model("a")
        assert loads == ["a", "b", "c", "d"], "a model within the limit was reloaded"
        cache.load_model("b")
        assert loads[-1] == "b" and len(loads) == 5, "the evicted model was not loaded again"
        assert np.isfinite(first(np.zeros((1, 4, 4, 1)))).all()
    finally:
        cache.load_model.clear()


def test_a_session_cache_is_bounded_by_bytes_and_drops_the_least_recently_used():
    from types import SimpleNamespace

    from ui.cache import SessionCache

    def result(kilobytes: int) -> SimpleNamespace:  # shaped like an Explanation: sized by its map
        return SimpleNamespace(attribution=np.zeros(kilobytes * 256, np.float32))

    cache = SessionCache(max_bytes=3 * 1024 * 4)
    for key in ("a", "b", "c"):
        cache.put(key, result(4))
    assert len(cache) == 3 and cache.bytes == 3 * 4096
    assert cache.get("a") is not None  # "a" is now the most recently used; "b" the least
    computed = []
    cache.get_or_compute("d", lambda: computed.append("d") or result(4))
    assert computed == ["d"] and cache.get("b") is None and cache.bytes == 3 * 4096
    assert all(cache.get(key) is not None for key in ("a", "c", "d"))
    cache.get_or_compute("d", lambda: computed.append("again") or result(4))
    assert computed == ["d"], "a cached result was computed again"
    cache.put("raw", b"x" * 6000)  # bytes count by their length
    assert cache.bytes <= cache.max_bytes and cache.get("raw") is not None
    cache.put("huge", result(100))  # over the whole budget: kept alone, so the page can still show it
    assert len(cache) == 1 and cache.get("huge") is not None


# Deterministic methods whose traces change the shared model while they run: Guided Backprop swaps every
# ReLU's gradient, every method hooks the softmax to read logits, the CAMs hook the layer they read.
CONCURRENT_METHODS = ("saliency", "guided_backprop", "gradcam", "gradient_input", "integrated_gradients")


def test_one_shared_model_explained_from_many_threads_at_once_gives_each_its_own_answer(rng):
    """Twenty requests start together on a fresh (untraced) model shared as the app shares it; each gets
    what the same request gets alone on an identical private model, and the shared layers end unchanged."""
    shared = build_three_shapes()["nested"]
    private = build_three_shapes()["nested"]  # the same weights, traced by nobody else
    images = rng.uniform(-1, 1, (4, 12, 12, 3)).astype(np.float32)
    requests = [(method, index) for method in CONCURRENT_METHODS for index in range(len(images))]
    activations = {layer.name: explainers._hooks.activation_name(layer) for layer in models.layers.iter_layers(shared)}
    together = threading.Barrier(len(requests), timeout=300)  # a thread each, all released at once

    def explain(request):
        method, index = request
        together.wait()
        return explainers.explain(shared, images[index], method, target=index % 3).attribution

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        concurrent = list(pool.map(explain, requests))
    for (method, index), attribution in zip(requests, concurrent, strict=True):
        alone = explainers.explain(private, images[index], method, target=index % 3).attribution
        np.testing.assert_allclose(attribution, alone, rtol=1e-5, atol=1e-6, err_msg=f"{method} on image {index}")
    for layer in models.layers.iter_layers(shared):
        assert "call" not in vars(layer), f"{layer.name} kept a tracing hook"
    assert activations == {
        layer.name: explainers._hooks.activation_name(layer) for layer in models.layers.iter_layers(shared)
    }
    assert "relu" in activations.values() and "softmax" in activations.values()


def test_the_phase_profile_writes_only_when_asked(tmp_path, monkeypatch):
    import json

    from ui import profile

    log = tmp_path / "profile.jsonl"
    monkeypatch.delenv(profile.PROFILE_ENV, raising=False)
    with profile.phase("off"):
        pass
    assert not log.exists()
    monkeypatch.setenv(profile.PROFILE_ENV, str(log))
    with profile.phase("decode"):
        sum(range(10_000))
    profile.record("explain saliency", 1.0, 1.5, 0.9)
    first, second = (json.loads(line) for line in log.read_text().splitlines())
    assert first["phase"] == "decode" and first["end"] >= first["start"] and first["cpu"] >= 0
    assert second == {"phase": "explain saliency", "start": 1.0, "end": 1.5, "cpu": 0.9}


@pytest.fixture
def fresh_preload():
    """The preload's module state, emptied after the test (other tests must compute their own maps)."""
    from ui import preload

    yield preload
    for name in list(preload._PENDING):
        preload.take(name)
    preload._LANDING.clear()


def landing_view(name: str, model: keras.Model) -> tuple[np.ndarray, dict[str, tuple]]:
    """The default view's input and its map keys as the Compare page makes them: the first sample, the top
    class, the recommended layer, the default methods and seed."""
    from ui.cache import content_key, map_key

    source = models.get_source(name)
    loaded = imaging.load_sample(imaging.samples_for(source.sample_kind)[0])
    _, inputs = source.prepare(loaded.values, loaded.default_window)
    target = int(np.argmax(explainers.predict(model, inputs[None])[0]))
    layer = models.default_cam_layer(model)
    image_key = content_key(inputs)
    return inputs, {
        m: map_key(image_key, name, m, target, layer, explainers.DEFAULT_SEED) for m in explainers.DEFAULT_METHODS
    }


def test_the_preload_hands_out_the_model_once_then_computes_the_landing_view(fresh_preload):
    preload = fresh_preload
    preload.start("fashion_mnist_cnn")
    model = preload.take("fashion_mnist_cnn")
    assert isinstance(model, keras.Model)
    assert preload.take("fashion_mnist_cnn") is None  # handed out once: a later load is the cache's business
    inputs, keys = landing_view("fashion_mnist_cnn", model)
    other = (*keys["saliency"][:3], keys["saliency"][3] + 1, None)  # another class: not a landing map
    landing = dict(preload.landing_maps([*keys.values(), other]))  # waits while they are computed
    assert set(landing) == set(keys.values()) and explainers.is_warm(model)
    source = models.get_source("fashion_mnist_cnn")
    for method, key in keys.items():
        shared = landing[key]
        assert shared.method == method and shared.target == key[3] and not shared.attribution.flags.writeable
        options = {"seed": explainers.DEFAULT_SEED} if explainers.METHODS[method].stochastic else {}
        alone = explainers.explain(
            model, inputs, method, target=key[3], layer=shared.layer, baseline=source.black_image(), **options
        )
        scale = float(np.abs(alone.attribution).max())
        np.testing.assert_allclose(shared.attribution, alone.attribution, rtol=1e-4, atol=1e-6 * scale)
    assert list(preload.landing_maps([other])) == []  # answered at once, nothing computed


def test_a_failed_preload_loads_again_and_promises_no_maps(fresh_preload, monkeypatch, caplog):
    preload = fresh_preload

    class Broken:
        def __init__(self, name: str):
            self.name = name

        def load(self) -> keras.Model:
            raise OSError("weights missing")

    monkeypatch.setattr(models, "get_source", Broken)
    preload.start("broken")
    assert preload.take("broken") is None and "preloading broken failed" in caplog.text
    key = ("image", "broken", "saliency", 0, None)
    assert list(preload.landing_maps([key])) == []  # no wait for maps that will never come


def test_a_new_visitor_is_shown_the_landing_view_computed_at_start(fresh_preload):
    from streamlit.testing.v1 import AppTest

    preload = fresh_preload
    preload.start("fashion_mnist_cnn")  # as python -m ui.serve does for the default model
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.session_state["model"] = "fashion_mnist_cnn"
    at.run()  # while the preload may still be computing: the page waits for its maps rather than computing them
    assert not at.exception, [e.value for e in at.exception]
    results = at.session_state["_cache_results"]
    keys = results.cached_keys()
    shared = dict(preload.landing_maps(keys))
    assert len(keys) == 4 and all(results.get(key) is shared[key] for key in keys)  # the very same maps
    at.number_input(key="seed").set_value(1).run()  # another seed: SmoothGrad's map is this session's own
    assert not at.exception, [e.value for e in at.exception]
    computed = [key for key in results.cached_keys() if key not in shared]
    assert [key[2] for key in computed] == ["smoothgrad"]
