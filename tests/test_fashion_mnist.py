"""The bundled Fashion-MNIST CNN: trained as its model card says, loads safely, explains its samples."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import explainers
import imaging
import models
from models import fashion_mnist
from tests.conftest import ROOT
from tests.test_app import map_images, target_box

DATA = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture(scope="module")
def source() -> models.ModelSource:
    return models.get_source("fashion_mnist_cnn")


@pytest.fixture(scope="module")
def model(source):
    return source.load()


def card_accuracy() -> float:
    card = fashion_mnist.MODEL_PATH.with_suffix(".md").read_text()
    return float(re.search(r"Test accuracy\*\*: ([0-9.]+)", card).group(1))


def test_card_promises_at_least_90_percent(model):
    assert card_accuracy() >= 0.90
    assert model.count_params() < 500_000


def test_accuracy_on_the_debian_test_split_matches_the_card(model):
    """Needs Debian's dataset-fashion-mnist, which the README's test command installs."""
    from scripts.train_fashion_mnist import load_split

    assert DATA.is_dir(), "install Debian's dataset-fashion-mnist (scripts/test.sh does)"
    images, labels = load_split("t10k")
    inputs = (images.astype(np.float32) / 255.0)[..., None]
    predictions = np.concatenate([explainers.predict(model, inputs[i : i + 2000]) for i in range(0, 10_000, 2000)])
    accuracy = float((predictions.argmax(axis=1) == labels).mean())
    assert accuracy == pytest.approx(card_accuracy(), abs=0.002)


def fashion_samples() -> list[str]:
    return [name for name, sample in imaging.SAMPLES.items() if sample.kind == "fashion-mnist"]


def test_one_sample_per_class_and_the_model_gets_them_right(model, source):
    names = fashion_samples()
    assert len(names) == 10
    correct = 0
    for name in names:
        label = int(name.split("-")[1])
        inputs = source.preprocess(imaging.resize_for_model(imaging.load_sample(name).pixels, source.input_size))
        assert inputs.shape == (28, 28, 1) and inputs.min() >= 0 and inputs.max() <= 1
        correct += int(np.argmax(explainers.predict(model, inputs[None])[0]) == label)
    assert correct >= 9


def test_every_default_map_on_a_sample(model, source):
    inputs = source.preprocess(imaging.load_sample(fashion_samples()[7]).pixels)  # a sneaker
    for explanation in explainers.explain_many(
        model, inputs, explainers.DEFAULT_METHODS, baseline=source.black_image()
    ):
        assert explanation.attribution.shape == (28, 28)
        assert np.abs(explanation.attribution).max() > 0
    assert models.default_cam_layer(model) == "pool2"


def test_the_page_explains_the_fashion_model(model):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
    at.selectbox(key="model").set_value("fashion_mnist_cnn").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="sample_fashion-mnist").value == fashion_samples()[0]
    assert target_box(at).value == 0  # T-shirt/top
    assert len(map_images(at)) == 4
