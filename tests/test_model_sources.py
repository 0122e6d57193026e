"""Keras Applications sources, preprocessing presets and their guess, output kinds, layer blocks."""

from __future__ import annotations

import importlib

import keras
import numpy as np
import pytest

import explainers
import models
from models.layers import _blocks

# keras.applications module of each source, for its own preprocess_input.
KERAS_MODULES = {
    "mobilenet_v2": "mobilenet_v2",
    "resnet50": "resnet",
    "efficientnet_b0": "efficientnet",
    "vgg16": "vgg16",
    "densenet121": "densenet",
    "xception": "xception",
    "inception_v3": "inception_v3",
    "convnext_tiny": "convnext",
}


def test_every_issue_listed_application_is_a_source():
    assert set(models.APPLICATIONS) == set(KERAS_MODULES)
    for name in KERAS_MODULES:
        assert models.MODELS[name].group == "Keras Applications"


@pytest.mark.parametrize("name", list(KERAS_MODULES))
def test_keras_application_loads_preprocesses_like_keras_and_explains(name, rng):
    app, source = models.APPLICATIONS[name], models.MODELS[name]
    model = app.build(weights=None)  # tests never need the ImageNet weights
    assert tuple(model.inputs[0].shape[1:]) == (*source.input_size, 3)

    pixels = rng.uniform(0, 255, (*source.input_size, 3)).astype(np.float32)
    keras_module = importlib.import_module(f"keras.applications.{KERAS_MODULES[name]}")
    expected = np.asarray(keras_module.preprocess_input(pixels.copy()))
    np.testing.assert_allclose(source.preprocess(pixels), expected, rtol=1e-6, atol=1e-4)
    assert models.guess_preset(model).preset == app.preprocessing, "the guess should recognise Keras' own models"

    inputs = source.preprocess(pixels)
    assert explainers.output_kind(model) == "softmax"
    layer = models.default_cam_layer(model)
    methods = ["saliency", "gradcam", "deeplift"]
    lrp_refusal = explainers.unavailable_reason(model, "lrp")
    if name == "convnext_tiny":  # layer norm and layer scale: no LRP rule, said in a sentence
        assert "LayerNormalization" in lrp_refusal
    else:
        assert lrp_refusal is None
        methods.append("lrp")
    if name in ("mobilenet_v2", "efficientnet_b0"):  # forward passes only, as every model has: two suffice
        methods += ["rise", "lime", "kernel_shap"]
    few = {"reliability_target": None, "samples": 4}
    options = {"rise": {"reliability_target": None, "masks": 4}, "lime": few, "kernel_shap": few | {"segments": 4}}
    explanations = {e.method: e for e in explainers.explain_many(model, inputs, methods, layer=layer, options=options)}
    for explanation in explanations.values():
        assert explanation.attribution.shape == source.input_size and np.isfinite(explanation.attribution).all()
    deeplift = explanations["deeplift"]
    if name == "convnext_tiny":  # layer norm is not elementwise: DeepLIFT says where it used the gradient instead
        assert "LayerNormalization" in deeplift.options["gradient_at"]
    else:  # random weights can make the score change vanish: then there is nothing to add up to
        change = deeplift.completeness_error / deeplift.completeness_relative if deeplift.completeness_relative else 0
        assert deeplift.completeness_relative is None or change < 1e-6 or deeplift.completeness_relative < 0.01


def test_missing_weights_make_a_source_unavailable_with_the_fix(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    source, app = models.MODELS["resnet50"], models.APPLICATIONS["resnet50"]
    reason = source.unavailable_reason()
    assert reason and app.weights_file in reason and str(tmp_path / "models") in reason
    assert "keras.applications.ResNet50(weights='imagenet')" in reason
    with pytest.raises(models.WeightsUnavailableError, match=app.weights_file):
        source.load()  # refuses at once: no download is attempted
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / app.weights_file).write_bytes(b"placeholder")
    assert source.unavailable_reason() is None


def test_bundled_sources_are_always_available():
    assert models.MODELS["efficientnet_lite0"].unavailable_reason() is None
    assert models.MODELS["fashion_mnist_cnn"].unavailable_reason() is None


def test_presets_on_a_single_channel_model_use_luma():
    gray_pixel = np.full((1, 1, 3), 200.0, np.float32)
    assert models.PRESETS["unit"].apply(gray_pixel, channels=1).shape == (1, 1, 1)
    np.testing.assert_allclose(models.PRESETS["unit"].apply(gray_pixel, channels=1), 200 / 255, rtol=1e-6)
    np.testing.assert_allclose(models.PRESETS["symmetric"].apply(gray_pixel, channels=1), 200 / 127.5 - 1, rtol=1e-6)
    red = np.zeros((1, 1, 3), np.float32)
    red[..., 0] = 255
    np.testing.assert_allclose(models.PRESETS["raw"].apply(red, channels=1), 255 * 0.299, rtol=1e-6)
    with pytest.raises(ValueError, match="1- or 3-channel"):
        models.PRESETS["unit"].apply(np.zeros((2, 2, 3)), channels=4)


def _tiny(first: keras.layers.Layer | None = None, name: str = "my_classifier") -> keras.Model:
    layers = [keras.Input((8, 8, 3))]
    if first is not None:
        layers.append(first)
    layers += [keras.layers.Conv2D(2, 3), keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3)]
    return keras.Sequential(layers, name=name)


def test_the_preprocessing_guess_reads_the_model_and_says_why():
    rescaled = models.guess_preset(_tiny(keras.layers.Rescaling(1 / 255)))
    assert rescaled.preset == "raw" and "rescal" in rescaled.reason
    assert models.guess_preset(_tiny(name="resnet50")).preset == "caffe"
    assert models.guess_preset(_tiny(name="densenet121")).preset == "torch"
    plain = models.guess_preset(_tiny())
    assert plain.preset == "unit" and "0..1" in plain.reason


def _head(units: int, activation: str | None) -> keras.Model:
    return keras.Sequential(
        [keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3), keras.layers.Flatten(), keras.layers.Dense(units)]
        + ([keras.layers.Activation(activation)] if activation else [])
    )


@pytest.mark.parametrize(
    ("units", "activation", "kind"),
    [
        (5, "softmax", "softmax"),
        (5, None, "logits"),
        (1, "sigmoid", "binary"),
        (4, "sigmoid", "multilabel"),
        (1, None, "score"),
    ],
)
def test_output_kind_is_detected_and_probabilities_follow_it(units, activation, kind, rng):
    model = _head(units, activation)
    assert explainers.output_kind(model) == kind and kind in explainers.OUTPUT_KINDS
    outputs = explainers.predict(model, rng.normal(size=(1, 8, 8, 1)).astype(np.float32))[0]
    probabilities = explainers.probabilities(model, outputs)
    if kind == "score":
        assert probabilities is None
        return
    assert ((probabilities >= 0) & (probabilities <= 1)).all()
    if kind in ("softmax", "logits"):
        assert probabilities.sum() == pytest.approx(1.0, abs=1e-5)
    if kind == "logits":
        np.testing.assert_allclose(probabilities, np.exp(outputs) / np.exp(outputs).sum(), rtol=1e-5)


def test_layers_are_grouped_into_blocks_from_their_names():
    names = ["input", "Conv1", "block_1_expand", "block_1_relu", "block_2_expand", "Conv_1", "predictions"]
    assert _blocks(names) == ["stem", "stem", "block_1", "block_1", "block_2", "head", "head"]
    inception = ["conv2d", "conv2d_1", "mixed0", "conv2d_2", "mixed1", "avg_pool", "predictions"]
    assert _blocks(inception) == ["mixed0", "mixed0", "mixed0", "mixed1", "mixed1", "head", "head"]
    assert _blocks(["backbone/block1_conv", "backbone/block1_pool", "dense"]) == [
        "backbone/block1",
        "backbone/block1",
        "head",
    ]
    assert _blocks(["conv1", "conv2", "dense"]) == ["all layers"] * 3


def test_layer_listing_counts_every_parameter_and_recommends_a_spatial_layer():
    model = models.APPLICATIONS["vgg16"].build(weights=None)
    layers = models.describe_layers(model)
    assert sum(info.parameters for info in layers) == model.count_params()
    assert models.default_cam_layer(model) == "block5_pool"
    wide, squeezed = keras.layers.Conv2D(4, 3, name="wide"), keras.layers.Conv2D(4, 6, name="squeezed")
    one_by_one = keras.Sequential(
        [keras.Input((8, 8, 3)), wide, squeezed, keras.layers.Flatten(), keras.layers.Dense(2)]
    )
    assert models.default_cam_layer(one_by_one) == "wide"  # a 1x1 map cannot say where


def test_a_gray_image_feeds_a_gray_model_exactly():
    levels = np.arange(256, dtype=np.float32).reshape(16, 16, 1)
    repeated = np.repeat(levels, 3, axis=-1)  # how a grayscale image reaches the presets
    np.testing.assert_array_equal(models.PRESETS["raw"].apply(repeated, channels=1), levels)
    np.testing.assert_array_equal(models.MODELS["fashion_mnist_cnn"].preprocess(repeated), levels / np.float32(255))


def test_download_failure_says_why_and_success_makes_the_model_available(monkeypatch, tmp_path):
    import socket

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    app, source = models.APPLICATIONS["mobilenet_v2"], models.MODELS["mobilenet_v2"]

    def offline(**kwargs):
        raise Exception("URL fetch failure on https://storage.googleapis.com/...: None -- Name or service not known")

    monkeypatch.setattr(keras.applications, "MobileNetV2", offline)
    with pytest.raises(
        models.WeightsUnavailableError, match=r"downloading .* failed \(URL fetch failure.*On a machine"
    ):
        source.download()
    assert socket.getdefaulttimeout() is None, "the download's socket timeout leaked"

    def online(**kwargs):  # what Keras does when it can reach the storage: the file lands in its cache
        (tmp_path / "models").mkdir(exist_ok=True)
        (tmp_path / "models" / app.weights_file).write_bytes(b"weights")

    monkeypatch.setattr(keras.applications, "MobileNetV2", online)
    source.download()
    assert source.unavailable_reason() is None


def test_a_caffe_preprocessed_model_reads_bgr_and_the_others_rgb():
    assert models.get_source("vgg16").reads_bgr() and models.get_source("resnet50").reads_bgr()
    assert not models.get_source("efficientnet_lite0").reads_bgr()
    assert not models.get_source("mobilenet_v2").reads_bgr()
    assert not models.get_source("fashion_mnist_cnn").reads_bgr(), "gray: no channel order"
