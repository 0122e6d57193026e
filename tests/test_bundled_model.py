"""The bundled EfficientNet-Lite0 is the real ImageNet model, converted faithfully and cached safely."""

from __future__ import annotations

from collections import Counter

import keras
import numpy as np
import pytest

import explainers
from models import cache, efficientnet_lite
from models.class_names import imagenet_class_names
from models.torch_weights import load_state_dict

CAT_CLASSES = {"tabby cat", "a cat having a striped coat", "Persian cat", "Siamese cat", "Egyptian Mau"}


def top1(model, inputs) -> tuple[str, float]:
    probabilities = explainers.predict(model, inputs[None])[0]
    index = int(np.argmax(probabilities))
    return imagenet_class_names()[index], float(probabilities[index])


def test_coffee_is_espresso(bundled_model, sample_input):
    label, probability = top1(bundled_model, sample_input("coffee")[1])
    assert label == "espresso"
    assert probability > 0.8


def test_chelsea_is_a_cat(bundled_model, sample_input):
    label, probability = top1(bundled_model, sample_input("chelsea")[1])
    assert label in CAT_CLASSES
    assert probability > 0.5


def test_every_weight_in_the_file_is_used_exactly_once():
    state = load_state_dict(efficientnet_lite.weights_path())
    model = efficientnet_lite.build()
    used = efficientnet_lite.assign_weights(model, state)
    assert efficientnet_lite.unused_or_reused_keys(state, used) == []
    ignored = {key for key in state if key not in used}
    assert ignored and all(key.endswith(".num_batches_tracked") for key in ignored)
    assert sum(int(np.prod(state[key].shape)) for key in used) == model.count_params() == 4_694_024
    # The check itself catches a mismatch: an extra tensor, or one consumed twice.
    assert efficientnet_lite.unused_or_reused_keys({**state, "_extra.weight": np.zeros(1)}, used) == ["_extra.weight"]
    assert efficientnet_lite.unused_or_reused_keys(state, used + Counter({"_fc.bias": 1})) == ["_fc.bias"]


def test_class_names_are_the_1000_imagenet_names_and_unique():
    names = imagenet_class_names()
    assert len(names) == len(set(names)) == 1000
    assert names[967] == "espresso" and names[0] == "tench"


def test_cache_honours_xdg_and_rebuilds_a_corrupt_file(tmp_path, monkeypatch, sample_input):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    builds = []

    def build():
        builds.append(1)
        return efficientnet_lite.convert()

    first = cache.load_or_build("lite0.keras", build)
    path = tmp_path / "explanation-explorer" / "lite0.keras"
    assert path.is_file() and len(builds) == 1
    second = cache.load_or_build("lite0.keras", build)
    assert len(builds) == 1, "a valid cached file must be loaded, not rebuilt"
    inputs = sample_input("coffee")[1][None]
    np.testing.assert_allclose(explainers.predict(first, inputs), explainers.predict(second, inputs), atol=1e-6)

    path.write_bytes(path.read_bytes()[:1000])  # truncated, as after a crash mid-copy
    third = cache.load_or_build("lite0.keras", build)
    assert len(builds) == 2
    assert isinstance(third, keras.Model)
    assert keras.saving.load_model(path, compile=False) is not None  # the bad file was replaced


@pytest.mark.parametrize("name", ["coffee", "chelsea"])
def test_gradcam_lands_on_the_object(bundled_model, sample_input, name):
    """Grad-CAM's peak is in the central object, not the border (cup; cat's face)."""
    _, inputs = sample_input(name)
    attribution = explainers.explain(bundled_model, inputs, "gradcam").attribution
    peak_row, peak_col = np.unravel_index(np.argmax(attribution), attribution.shape)
    assert 40 <= peak_row <= 184 and 40 <= peak_col <= 184


def test_integrated_gradients_meets_one_percent_by_default(bundled_model, bundled_source, sample_input):
    _, inputs = sample_input("coffee")
    explanation = explainers.explain(
        bundled_model, inputs, "integrated_gradients", baseline=bundled_source.black_image()
    )
    assert explanation.completeness_relative < 0.01
    assert explanation.score_kind == "logit"


@pytest.mark.parametrize("name", ["efficientnet_lite0", "fashion_mnist_cnn"])
def test_black_image_is_the_preprocessed_rgb_black(name):
    import models

    source = models.get_source(name)
    black = source.black_image()
    assert black.shape == (*source.input_size, source.channels)
    np.testing.assert_allclose(black, source.preprocess(np.zeros((*source.input_size, 3))))
