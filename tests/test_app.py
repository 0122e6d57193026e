"""The Compare page through Streamlit's AppTest: samples, uploads, method changes, bad uploads."""

from __future__ import annotations

import io

import numpy as np
import pytest
import skimage.data
from PIL import Image
from streamlit.testing.v1 import AppTest

import imaging
from tests.conftest import ROOT, bomb_png

TIMEOUT = 300
CAT_CLASSES = {281, 282, 283, 284, 285}


@pytest.fixture
def app(bundled_model) -> AppTest:  # the model fixture converts the weights once, up front
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)


def png_bytes(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def map_images(at: AppTest) -> list:
    """The attribution maps: every image but the input photo."""
    return [image for image in at.get("image") if "as the model sees it" not in str(image.proto)]


def run_light(at: AppTest, methods: tuple[str, ...] = ("gradcam",)) -> AppTest:
    """The first run with one cheap method: tests that do not look at the default four skip their cost."""
    at.session_state["methods"] = list(methods)
    return at.run()


def target_box(at: AppTest):
    """The "Explain class" picker (its key changes with the prediction it lists)."""
    return next(box for box in at.selectbox if box.key and box.key.startswith("target_"))


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def test_sample_image_shows_predictions_and_four_maps(app):
    at = app.run()
    assert_clean(at)
    assert at.selectbox(key="sample_photo").value == "coffee"
    assert target_box(at).value == 967  # espresso, the top prediction
    assert len(map_images(at)) == 4
    labels = [button.proto.label for button in at.get("download_button")]
    assert labels.count("Download PNG") == 4 and "Download raw maps (.npz)" in labels
    assert {"Download report (HTML)", "Download report (PDF)"} <= set(labels)
    assert at.get("vega_lite_chart"), "the top-5 chart is missing"
    captions = " ".join(c.value for c in at.caption)
    assert "Can mislead" in captions


def test_display_changes_reuse_results_and_a_new_target_computes(app):
    at = app.run()
    results = at.session_state["_cache_results"]
    assert len(results) == 4
    at.radio(key="colormap").set_value("viridis").run()
    at.slider(key="opacity").set_value(0.8).run()
    at.radio(key="normalisation").set_value("max").run()
    assert_clean(at)
    assert len(at.session_state["_cache_results"]) == 4, "a display-only change recomputed maps"
    target_box(at).set_value(504).run()  # coffee mug
    assert_clean(at)
    assert len(at.session_state["_cache_results"]) == 8


def test_changing_methods(app):
    at = run_light(app)
    at.multiselect(key="methods").set_value(["gradcam", "saliency"]).run()
    assert_clean(at)
    assert len(map_images(at)) == 2
    assert not any("sanity check" in w.value for w in at.warning)
    at.multiselect(key="methods").set_value(["guided_backprop", "gradient_input", "layercam"]).run()
    assert_clean(at)
    assert len(map_images(at)) == 3
    assert sum("sanity check" in w.value for w in at.warning) == 1  # only Guided Backprop fails it
    at.multiselect(key="methods").set_value([]).run()
    assert_clean(at)
    assert not map_images(at)
    assert any("at least one method" in info.value for info in at.info)


def test_deeplift_and_lrp_maps_say_how_well_they_add_up_and_which_rules_made_them(app):
    at = run_light(app, ("deeplift", "lrp"))
    assert_clean(at)
    assert len(map_images(at)) == 2
    captions = " ".join(c.value for c in at.caption)
    assert "completeness error 0.0%" in captions  # DeepLIFT adds up to the score change on this model
    assert "rules ε-z⁺-flat" in captions
    picker = at.multiselect(key="methods")
    assert picker.options[:1] == ["Gradient · Saliency · 1 pass"] and "Relevance · LRP · 1 pass" in picker.options


def test_upload_a_photo(app):
    at = run_light(app)
    at.radio(key="image_source").set_value("Upload").run()
    at.multiselect(key="methods").set_value(["saliency", "gradcam"]).run()
    at.file_uploader(key="upload").upload("chelsea.png", png_bytes(skimage.data.chelsea()), "image/png").run()
    assert_clean(at)
    assert target_box(at).value in CAT_CLASSES
    assert len(map_images(at)) == 2


def test_bad_image_uploads_give_a_message_and_keep_the_last_image(app):
    at = run_light(app)
    at.radio(key="image_source").set_value("Upload").run()
    assert "Still showing the previous image, Coffee cup" in " ".join(c.value for c in at.caption)
    at.file_uploader(key="upload").upload("cat.png", png_bytes(skimage.data.chelsea()), "image/png").run()
    bad_files = {
        "notes.png": (b"these are my notes, not a picture", "not an image"),
        "cut.png": (png_bytes(skimage.data.chelsea())[:5000], "truncated or corrupt"),
        "bomb.png": (bomb_png(), "too large to decode safely"),
        # Streamlit refuses this one in the browser; the page must too if it gets through.
        "huge.png": (png_bytes(skimage.data.chelsea()) + bytes(imaging.MAX_IMAGE_BYTES), "over the 50 MB limit"),
    }
    for name, (data, message) in bad_files.items():
        at.file_uploader(key="upload").upload(name, data, "image/png").run()
        assert_clean(at)
        assert any(name in error.value and message in error.value for error in at.error), name
        assert "Still showing the previous image, cat.png" in " ".join(c.value for c in at.caption)
        assert target_box(at).value in CAT_CLASSES, "the previous image was lost"
        assert len(map_images(at)) == 1

    cat = Image.fromarray(skimage.data.chelsea())
    gif = io.BytesIO()
    cat.save(gif, format="GIF", save_all=True, append_images=[cat.transpose(Image.Transpose.ROTATE_180)])
    at.file_uploader(key="upload").upload("animated.gif", gif.getvalue(), "image/gif").run()
    assert_clean(at)
    assert not at.error and "Note: first of 2 frames used." in [c.value for c in at.sidebar.caption]
    assert target_box(at).value in CAT_CLASSES and len(map_images(at)) == 1


def test_trust_section_measures_faithfulness_and_the_randomisation_check_on_request(app):
    at = run_light(app, ("gradcam", "smoothgrad"))
    assert_clean(at)
    captions = " ".join(c.value for c in at.caption)
    texts = " ".join(m.value for m in at.markdown)
    assert "**Reproducibility 0.9" in texts and "Deterministic" in texts
    assert "Faithfulness not measured yet" in captions
    assert len(at.get("vega_lite_chart")) == 2  # the predictions and the agreement heatmap
    next(b for b in at.button if b.proto.label == TRUST_BUTTONS[0]).click().run()
    assert_clean(at)
    texts = " ".join(m.value for m in at.markdown)
    assert texts.count("**Deletion AUC") == 2 and "random order" in texts
    table = at.dataframe[0].value
    assert list(table["method"]).count("random order (chance)") == 1 and len(table) == 3
    assert len(at.session_state["_cache_trust"]) == 3  # two maps' curves and the random order, cached
    assert next(b for b in at.button if b.proto.label == TRUST_BUTTONS[0]).disabled
    at.session_state["methods"] = ["gradcam"]
    at.run()
    next(b for b in at.button if b.proto.label == TRUST_BUTTONS[1]).click().run()
    assert_clean(at)
    texts = " ".join(m.value for m in at.markdown)
    assert "**Randomisation check passed** on this model" in texts
    assert "**Grad-CAM** — passed" in texts
    at.radio(key="colormap").set_value("viridis").run()  # a display change keeps every measurement
    assert_clean(at)
    assert "**Randomisation check passed** on this model" in " ".join(m.value for m in at.markdown)


def test_the_seed_changes_sampling_maps_only(app):
    at = run_light(app, ("gradcam", "smoothgrad"))
    first = dict(at.session_state["_cache_results"]._items)
    at.number_input(key="seed").set_value(4).run()
    assert_clean(at)
    keys = set(at.session_state["_cache_results"]._items) - set(first)
    assert [key[2] for key in keys] == ["smoothgrad"]  # Grad-CAM was reused; SmoothGrad redrawn with new noise
    assert "seed 4" in " ".join(m.value for m in at.markdown)


TRUST_BUTTONS = ("Measure faithfulness", "Run the randomisation check")


def test_the_app_keeps_tensorflow_kernels_between_runs(app, monkeypatch):
    """Streamlit calls keras.backend.clear_session() after every run unless the app stops it: that emptied
    TensorFlow's kernel cache, and every rerun paid 0.3-0.5 s to rebuild the compiled functions' kernels."""
    import keras
    from streamlit.runtime.scriptrunner import script_runner

    installed = script_runner._clean_problem_modules
    monkeypatch.setattr(script_runner, "_clean_problem_modules", getattr(installed, "replaces", installed))
    cleared = []
    monkeypatch.setattr(keras.backend, "clear_session", lambda *args, **kwargs: cleared.append(True))
    at = app.run()
    assert_clean(at)
    at.radio(key="colormap").set_value("viridis").run()
    assert cleared == []
    assert getattr(script_runner._clean_problem_modules, "keeps_compiled_models", False)
