"""A link that reopens the view (ui/link.py) through AppTest: the address carries the choices, and opening it in
a new session restores them; uploads never go into it."""

from __future__ import annotations

import pytest
import skimage.data
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT
from tests.test_app import TIMEOUT, assert_clean, map_images, png_bytes, target_box

VIEW = {
    "model": "efficientnet_lite0",
    "sample": "chelsea",
    "methods": "gradcam,saliency",
    "target": "285",
    "layer": "block15_project_conv",
    "colormap": "viridis",
    "normalisation": "max",
    "opacity": "0.7",
    "outlines": "0",
}


@pytest.fixture
def app(bundled_model) -> AppTest:
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)


def link_of(at: AppTest) -> dict[str, str]:
    values = {key: at.query_params[key] for key in at.query_params}
    return {key: value[0] if isinstance(value, list) else value for key, value in values.items()}


def test_a_link_restores_the_view_and_the_view_writes_its_link(app):
    for key, value in VIEW.items():
        app.query_params[key] = value
    at = app.run()
    assert_clean(at)
    assert at.selectbox(key="sample_photo").value == "chelsea"
    assert at.multiselect(key="methods").value == ["gradcam", "saliency"]
    assert target_box(at).value == 285, "Egyptian cat, not the top class"
    assert at.selectbox(key="layer_efficientnet_lite0").value == "block15_project_conv"
    assert at.radio(key="colormap").value == "viridis" and at.radio(key="normalisation").value == "max"
    assert at.slider(key="opacity").value == pytest.approx(0.7) and at.toggle(key="outlines").value is False
    assert len(map_images(at)) == 2
    assert link_of(at) == VIEW

    target_box(at).set_value(281).run()
    at.radio(key="colormap").set_value("magma").run()
    assert link_of(at)["target"] == "281" and link_of(at)["colormap"] == "magma"


def test_a_plain_visit_gets_its_link_and_a_bad_link_says_what_it_ignored(app):
    at = app.run()
    link = link_of(at)
    assert link["model"] == "efficientnet_lite0" and link["sample"] == "coffee" and link["target"] == "967"
    assert link["methods"] == "saliency,smoothgrad,gradcam,integrated_gradients"

    fresh = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    fresh.query_params["model"] = "no_such_model"
    fresh.query_params["methods"] = "gradcam,telepathy"
    fresh.query_params["target"] = "lots"
    fresh.session_state["methods"] = ["gradcam"]
    at = fresh.run()
    assert_clean(at)
    warning = " ".join(w.value for w in at.warning)
    assert "model 'no_such_model'" in warning and "method 'telepathy'" in warning and "not a number" in warning
    assert at.selectbox(key="model").value == "efficientnet_lite0"
    assert at.multiselect(key="methods").value == ["gradcam"]


def test_an_upload_never_goes_into_the_link(app):
    app.session_state["methods"] = ["gradcam"]
    at = app.run()
    at.radio(key="image_source").set_value("Upload").run()
    at.file_uploader(key="upload").upload("my-cat.png", png_bytes(skimage.data.chelsea()), "image/png").run()
    assert_clean(at)
    assert link_of(at) == {}
    assert "does not carry your uploaded image" in " ".join(c.value for c in at.caption)
