"""The training page through AppTest: a short run, its charts and filmstrip, and an epoch opened on the Compare
page as a model of its own."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT
from tests.test_app import TIMEOUT, assert_clean, map_images, run_light
from tests.test_app_layers import wait_for_job


@pytest.fixture
def app(bundled_model) -> AppTest:
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)


def test_a_short_run_shows_its_curves_filmstrip_and_opens_in_compare(app):
    at = run_light(app)
    at.switch_page("pages/training.py").run()
    assert_clean(at)
    at.selectbox(key="train_architecture").set_value("tiny").run()
    at.slider(key="train_epochs").set_value(2).run()
    next(button for button in at.button if button.label == "Train").click().run()
    wait_for_job(at, "training")
    assert_clean(at)
    run = at.session_state["_job_training"].result
    assert len(run.epochs) == 2 and run.batch_losses[-1] < run.batch_losses[0]
    assert "Trained 2 of 2 epochs" in at.success[0].value
    assert len(at.get("vega_lite_chart")) >= 3, "curves, gradient norms, dead units, weights"
    filmstrip = [image for image in at.get("image") if image.proto.imgs[0].caption.startswith("1: ")]
    assert len(filmstrip) == 2 * run.config.probes and all(len(row.proto.imgs) == 2 for row in filmstrip)
    assert [image.caption for image in filmstrip[0].proto.imgs][1].startswith("2: ")
    assert "**T-shirt/top** · Grad-CAM" in [m.value for m in at.markdown]

    next(button for button in at.button if button.label.startswith("Epoch 1 ·")).click().run()
    assert_clean(at)
    assert "as the model sees it" in " ".join(image.proto.imgs[0].caption for image in at.get("image"))
    at.switch_page("pages/compare.py").run()  # where st.switch_page took the browser (AppTest stays put)
    assert at.selectbox(key="model").value == "trained" and at.selectbox(key="trained_epoch").value == 1
    epoch_box = at.selectbox(key="trained_epoch")
    assert epoch_box.format_func(1) == f"epoch 1 · held-out accuracy {run.epochs[0].test_accuracy:.1%}"
    assert at.selectbox(key="sample_fashion-mnist").value, "Fashion-MNIST samples for the trained model"
    assert len(map_images(at)) == 1
    at.selectbox(key="trained_epoch").set_value(2).run()
    assert_clean(at)
    assert len(map_images(at)) == 1
