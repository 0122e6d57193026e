"""The Two models page through AppTest: predictions side by side, the same methods in two aligned rows, each model
explained for its own top class or one shared class, colour scales shared only where the units allow it, and a
second uploaded model that leaves the first model's upload alone."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

import explainers
import models
from tests.conftest import ROOT, build_three_shapes, saved_bytes
from tests.test_app import TIMEOUT, assert_clean

PAGE = str(ROOT / "pages" / "two_models.py")
METHODS = ["gradcam", "saliency", "integrated_gradients"]


@pytest.fixture
def two_models(bundled_model) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.session_state["methods"] = METHODS
    at.run()
    at.switch_page(PAGE).run()
    assert_clean(at)
    return at


def row_titles(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith("###### ")]


def map_titles(at: AppTest) -> list[str]:
    labels = {explainers.METHODS[m].label for m in METHODS}
    return [m.value for m in at.markdown if m.value.startswith("**") and m.value[2:].split("**")[0] in labels]


def colour_bar_ranges(at: AppTest) -> list[str]:
    return [
        re.search(r'aria-label="colour scale from ([^"]+)"', m.value).group(1)
        for m in at.markdown
        if "colour scale from" in m.value
    ]


def test_without_a_second_model_the_page_says_what_to_do(two_models):
    at = two_models
    assert at.selectbox(key="second_model").value == "upload"  # no Keras Applications weights on this machine
    assert any("Choose a second model" in info.value for info in at.info)


def test_the_same_model_twice_gives_two_identical_aligned_rows(two_models):
    at = two_models
    at.selectbox(key="second_model").set_value("efficientnet_lite0").run()
    assert_clean(at)
    assert [title.split(" · ")[0] for title in row_titles(at)] == ["###### First model", "###### Second model"]
    titles = map_titles(at)
    assert (
        titles[:3]
        == titles[3:]
        == ["**Grad-CAM** · espresso", "**Saliency** · espresso", "**Integrated Gradients** · espresso"]
    )
    ranges = colour_bar_ranges(at)
    assert ranges[:3] == ranges[3:]
    pictures = [image.proto.imgs[0].url for image in at.get("image")][2:]  # after the two inputs
    assert len(pictures) == 6
    scales = at.caption[[c.value.startswith("Colour scales") for c in at.caption].index(True)].value
    assert "**Integrated Gradients**: one scale for both models" in scales
    assert "**Grad-CAM, Saliency**: each map on its own scale" in scales
    results = at.session_state["_cache_results"]
    assert len(results) == 3, "the same model's maps are computed once and shown twice"


def test_one_shared_class_is_explained_by_both_models(two_models):
    at = two_models
    at.selectbox(key="second_model").set_value("efficientnet_lite0").run()
    at.radio(key="two_models_target").set_value("shared").run()
    at.selectbox(key="shared_class").set_value("coffee mug").run()
    assert_clean(at)
    assert all(title.endswith(" · coffee mug") for title in map_titles(at)) and len(map_titles(at)) == 6
    targets = {key[3] for key in at.session_state["_cache_results"].cached_keys()}
    assert 504 in targets


def test_two_label_sets_are_each_explained_for_their_own_top_class_on_scales_the_units_allow(two_models):
    at = two_models
    at.selectbox(key="second_model").set_value("fashion_mnist_cnn").run()
    assert_clean(at)
    assert any("classes differ" in caption.value for caption in at.caption)
    assert not [radio for radio in at.radio if radio.key == "two_models_target"]
    titles = map_titles(at)
    assert all(t.endswith("· espresso") for t in titles[:3])
    fashion = set(models.get_source("fashion_mnist_cnn").class_names())
    assert all(t.split(" · ")[-1] in fashion for t in titles[3:])
    ranges = colour_bar_ranges(at)
    assert ranges[2] == ranges[5], "Integrated Gradients: both logits, one scale"
    assert ranges[0] != ranges[3], "Grad-CAM: each on its own scale"
    inputs = [image.proto.imgs[0].caption for image in at.get("image")][:2]
    assert inputs == ["as this model sees it (224x224)", "as this model sees it (28x28)"]


def test_a_second_uploaded_model_has_its_own_slot(two_models, tmp_path):
    at = two_models
    model = build_three_shapes((32, 32, 3))["functional"]
    data = saved_bytes(model, tmp_path / "version2.keras")
    at.file_uploader(key="second_model_upload").upload("version2.keras", data, "application/octet-stream").run()
    assert_clean(at)
    assert "_uploaded_modelsecond_" in at.session_state and "_uploaded_model" not in at.session_state
    assert [title.split(" · ")[1] for title in row_titles(at)][1] == "version2.keras (your model)"
    assert len(map_titles(at)) == 6
    results = at.session_state["_cache_results"]
    assert len(results) == 6
    # The second model's maps are its own: its Integrated Gradients map, at its input size, adds up to its score.
    maps = [results.get(key) for key in results.cached_keys()]
    ig = [e for e in maps if e.method == "integrated_gradients" and e.attribution.shape == (32, 32)]
    assert len(ig) == 1 and ig[0].completeness_relative < 0.05
