"""The Inside-the-network page through AppTest: the same model, image and class as the Compare page, a layer's
channels, the gradient flow, and every model shape."""

from __future__ import annotations

import time

import keras
import numpy as np
import pytest
import skimage.data
from streamlit.testing.v1 import AppTest

import introspection
from tests.conftest import ROOT, build_three_shapes, saved_bytes
from tests.test_app import TIMEOUT, assert_clean, png_bytes, run_light, target_box

LAYERS_PAGE = "pages/layers.py"


@pytest.fixture
def app(bundled_model) -> AppTest:
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)


def pictures(at: AppTest) -> dict[str, list[str]]:
    """Each picture element's captions, keyed by the first one."""
    return {image.proto.imgs[0].caption: [i.caption for i in image.proto.imgs] for image in at.get("image")}


def test_the_page_shares_the_compare_pages_choice_and_ranks_the_cam_layers_channels(app, bundled_model, sample_input):
    at = run_light(app)
    target_box(at).set_value(504).run()  # coffee mug, not the top class
    predictions = at.session_state["_cache_predictions"]
    at.switch_page(LAYERS_PAGE).run()
    assert_clean(at)
    assert target_box(at).value == 504, "the class chosen on the Compare page"
    assert len(at.session_state["_cache_predictions"]) == len(predictions) == 1, "predicted once for both pages"
    assert at.selectbox(key="inside_layer_efficientnet_lite0").value == "head_relu6", "the CAM layer first"
    tiles = next(captions for first, captions in pictures(at).items() if first.startswith("#"))
    assert len(tiles) == 48
    _, inputs = sample_input("coffee")
    activity = introspection.record_layers(bundled_model, inputs, 504, keep=("head_relu6",)).activity("head_relu6")
    expected = activity.ranked("contribution")[:48]
    assert [int(caption.split(" · ")[0][1:]) for caption in tiles] == [int(k) for k in expected]
    text = " ".join(m.value for m in at.markdown)
    assert "1280 channels" in text and "never active" in text
    assert len(at.get("vega_lite_chart")) >= 5, "top-5, histogram, gradient norm, activation size, dead units"

    at.radio(key="inside_rank").set_value("activation").run()
    tiles = next(captions for first, captions in pictures(at).items() if first.startswith("#"))
    assert int(tiles[0].split(" · ")[0][1:]) == int(activity.ranked("activation")[0])
    at.number_input(key="inside_page_head_relu6").set_value(27).run()
    tiles = next(captions for first, captions in pictures(at).items() if first.startswith("#"))
    assert len(tiles) == 1280 - 26 * 48, "the last page holds the rest"

    at.selectbox(key="inside_layer_efficientnet_lite0").set_value("logits").run()
    assert_clean(at)
    assert "1000 units" in " ".join(m.value for m in at.markdown)
    at.switch_page("pages/compare.py").run()
    assert_clean(at)
    assert target_box(at).value == 504


def test_the_weights_tab_shows_first_filters_and_each_kind_of_layer(app, bundled_model):
    at = run_light(app)
    at.switch_page(LAYERS_PAGE).run()
    filters = pictures(at)["#0"]
    assert len(filters) == bundled_model.get_layer("stem_conv").kernel.shape[-1] == 32
    texts = {
        "block3_expand_conv": "convolution: kernel 1x1x24x144",
        "block3_depthwise_conv": "depthwise convolution: kernel 5x5x144x1",
        "block3_expand_bn": "batch normalisation",
        "logits": "dense (fully connected): kernel 1280x1000",
        "head_relu6": "has no weights of its own",
    }
    for layer, expected in texts.items():
        at.selectbox(key="inside_layer_efficientnet_lite0").set_value(layer).run()
        assert_clean(at)
        shown = " ".join(m.value for m in at.markdown) + " ".join(c.value for c in at.caption)
        assert expected in shown, layer
    at.toggle(key="inside_filters_joint").set_value(True).run()
    assert_clean(at)


def wait_for_job(at: AppTest, name: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not at.session_state[f"_job_{name}"].done:
        assert time.monotonic() < deadline, "the job did not finish"
        time.sleep(0.2)
    at.run()


def test_feature_visualisation_runs_in_the_background_and_is_kept(app, bundled_model, bundled_source):
    at = run_light(app)
    at.switch_page(LAYERS_PAGE).run()
    at.slider(key="inside_fv_steps").set_value(16).run()
    next(button for button in at.button if button.label == "Visualise").click().run()
    assert_clean(at)
    wait_for_job(at, "feature_visualization")
    assert_clean(at)
    result = at.session_state["_job_feature_visualization"].result
    assert result.steps == 16 and result.target == 967 and result.layer is None
    text = " ".join(m.value for m in at.markdown)
    assert f"{result.objective_start:.3g} → {result.objective_end:.3g}" in text
    assert not [button for button in at.button if button.label == "Visualise"], "kept: nothing to start again"
    at.switch_page("pages/compare.py").run()
    at.switch_page(LAYERS_PAGE).run()
    assert f"{result.objective_end:.3g}" in " ".join(m.value for m in at.markdown), "kept across pages"

    at.radio(key="inside_fv_objective").set_value("channel").run()
    channel_box = at.number_input(key="inside_fv_channel_head_relu6")
    assert channel_box.value == 1213, "the channel that contributes most to the class comes first"
    next(button for button in at.button if button.label == "Visualise").click().run()
    wait_for_job(at, "feature_visualization")
    assert_clean(at)
    channel_result = at.session_state["_job_feature_visualization"].result
    assert channel_result.layer == "head_relu6" and channel_result.target == 1213
    assert channel_result.objective_end > channel_result.objective_start


def test_an_uploaded_image_survives_a_page_change(app):
    at = run_light(app)
    at.radio(key="image_source").set_value("Upload").run()
    at.file_uploader(key="upload").upload("chelsea.png", png_bytes(skimage.data.chelsea()), "image/png").run()
    at.switch_page(LAYERS_PAGE).run()
    assert_clean(at)
    assert any(caption.startswith("chelsea.png, as the model sees it") for caption in pictures(at))
    assert "uploaded earlier" in " ".join(c.value for c in at.sidebar.caption)


def test_every_model_shape_opens_on_the_page(app, tmp_path):
    model = build_three_shapes((32, 32, 3))["nested"]
    at = run_light(app)
    at.selectbox(key="model").set_value("upload").run()
    at.file_uploader(key="model_upload").upload(
        "nested.keras", saved_bytes(model, tmp_path / "nested.keras"), "application/octet-stream"
    ).run()
    at.switch_page(LAYERS_PAGE).run()
    assert_clean(at)
    layer_box = next(box for box in at.selectbox if box.key and box.key.startswith("inside_layer_"))
    assert layer_box.value == "backbone/conv2", "the CAM layer, inside the nested backbone"
    assert "backbone/conv2" in " ".join(m.value for m in at.markdown)
    for layer in ("backbone/conv1", "pool", "logits", "probabilities"):
        layer_box.set_value(layer).run()
        assert_clean(at)
        layer_box = next(box for box in at.selectbox if box.key and box.key.startswith("inside_layer_"))
    text = " ".join(m.value for m in at.markdown)
    assert "3 units" in text


def test_every_layer_of_the_keras_applications_shapes_records(rng):
    """A residual model with a nested backbone, built from Keras Applications' blocks (random weights)."""
    backbone = keras.applications.MobileNetV2(input_shape=(64, 64, 3), weights=None, include_top=False, alpha=0.35)
    inputs = keras.Input((64, 64, 3))
    outputs = keras.layers.Dense(4)(keras.layers.GlobalAveragePooling2D()(backbone(inputs)))
    model = keras.Model(inputs, outputs)
    recording = introspection.record_layers(model, rng.uniform(-1, 1, (64, 64, 3)), 2)
    assert len(recording.flow) == len(introspection.inspectable_layers(model)) > 100
    assert all(row.gradient_norm is not None and np.isfinite(row.gradient_norm) for row in recording.flow)
    assert any(row.layer.path.startswith(backbone.name + "/") for row in recording.flow), "the backbone opened up"
