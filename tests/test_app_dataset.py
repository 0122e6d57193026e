"""The Dataset page and the batch results it reads: a labelled Fashion-MNIST folder explained in process (the same
shards and files as on Ray), its confusion matrix, class means, least faithful maps and misclassified images, and an
image handed to the Compare page."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import batch
import imaging
from models import fashion_mnist
from tests.conftest import ROOT
from tests.test_app import TIMEOUT, assert_clean

PAGE = str(ROOT / "pages" / "dataset.py")
METHODS = ("gradcam", "saliency")


@pytest.fixture(scope="module")
def fashion_result(tmp_path_factory):
    """30 test images of the bundled subset in one folder per class (T-shirt/top left out: its name is no folder
    name), a corrupt file, explained with metrics by the bundled Fashion-MNIST CNN."""
    root = tmp_path_factory.mktemp("fashion")
    subset = np.load(ROOT / "models" / "bundled" / "fashion_mnist_subset.npz")
    chosen = [i for i, label in enumerate(subset["test_labels"]) if label != 0][:30]
    for index in chosen:
        folder = root / "images" / fashion_mnist.CLASS_NAMES[subset["test_labels"][index]]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{index:03d}.png").write_bytes(imaging.png_bytes(subset["test_images"][index]))
    (root / "images" / "Bag" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    settings = batch.Settings(model="fashion_mnist_cnn", methods=METHODS, metrics=True)
    batch.run_in_process(root / "images", root / "out", settings)
    return root / "out"


def test_the_results_read_back_as_the_run_wrote_them(fashion_result):
    results = batch.BatchResults.open(fashion_result)
    rows = pd.read_parquet(fashion_result / "predictions.parquet")
    assert (
        len(rows) == 31
        and results.summary["failed"] == 1
        and results.summary["failures"][0]["path"].endswith("broken.png")
    )
    ok = rows[rows["error"] == ""]
    expected = pd.crosstab(ok["label"], ok["predicted_label"])
    np.testing.assert_array_equal(results.confusion().to_numpy(), expected.to_numpy())
    assert results.summary["accuracy"] == pytest.approx((ok["label"] == ok["predicted_label"]).mean())
    assert results.summary["accuracy"] > 0.6  # the bundled model is about 90 % right on this split
    assert set(results.misclassified()["path"]) == set(ok[ok["label"] != ok["predicted_label"]]["path"])
    worst = results.least_faithful("gradcam", count=5)
    assert len(worst) == 5 and worst["gradcam_insertion_auc"].is_monotonic_increasing
    assert worst["gradcam_insertion_auc"].iloc[0] == ok["gradcam_insertion_auc"].min()
    assert set(results.class_means["gradcam"]) == set(ok["label"])
    path = ok["path"].iloc[0]
    same_class = ok[ok["label"] == ok["label"].iloc[0]]["path"]
    mean = np.mean([results.maps_of(p)["gradcam"].astype(np.float32) for p in same_class], axis=0)
    np.testing.assert_allclose(results.class_means["gradcam"][ok["label"].iloc[0]], mean, rtol=1e-5, atol=1e-7)
    assert results.image_bytes(path) == (fashion_result.parent / "images" / path).read_bytes()
    assert json.loads(ok["top5"].iloc[0])[0]["label"] == ok["predicted_label"].iloc[0]
    with pytest.raises(batch.NotABatchResult):
        batch.BatchResults.open(fashion_result.parent / "images")


def test_the_dataset_page_shows_a_run_and_opens_an_image_in_compare(fashion_result, bundled_model):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.session_state["methods"] = ["gradcam"]
    at.run()
    at.switch_page(PAGE).run()
    assert_clean(at)
    assert any("cli.py batch" in info.value for info in at.info)
    at.text_input(key="dataset_folder").set_value(str(fashion_result.parent / "nowhere")).run()
    assert at.error and "summary.json" in at.error[0].value

    at.text_input(key="dataset_folder").set_value(str(fashion_result)).run()
    assert_clean(at)
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["Images"] == "31" and metrics["Failed"] == "1"
    results = batch.BatchResults.open(fashion_result)
    assert metrics["Accuracy"] == f"{results.summary['accuracy']:.1%}"
    captions = [image.proto.imgs[0].caption for image in at.get("image")]
    class_maps, neighbours = (
        captions[: len(results.class_means["gradcam"])],
        captions[len(results.class_means["gradcam"]) :],
    )
    assert sorted(class_maps) == sorted(results.class_means["gradcam"])
    tables = at.dataframe
    assert len(tables) >= 2  # the least faithful maps and the misclassified images
    # The embedding: a scatter of every explained image, and the picked image's eight nearest neighbours.
    charts = at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")
    assert len(charts) == 2  # the confusion matrix, then the scatter, whose tooltip shows each image
    assert json.loads(charts[-1].proto.spec)["encoding"]["tooltip"][0]["field"] == "image"
    assert "data:image/png;base64," in str(charts[-1].proto)
    assert len(neighbours) == 8 and all(" · " in caption for caption in neighbours)
    for method in ("tsne", "umap"):
        at.radio(key="dataset_projection").set_value(method).run()
        assert_clean(at)
    at.selectbox(key="dataset_colour").set_value("gradcam_insertion_auc").run()  # a metric, on a continuous scale
    assert_clean(at)
    charts = at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")
    assert json.loads(charts[-1].proto.spec)["encoding"]["color"]["type"] == "quantitative"

    picked = results.explained["path"].iloc[-1]  # any image opens, not only a misclassified one
    at.selectbox(key="dataset_image").set_value(picked).run()
    next(button for button in at.button if button.label == "Open in Compare").click().run()
    assert_clean(at)
    assert at.session_state["image_source"] == "Upload" and at.session_state["model"] == "fashion_mnist_cnn"
    at.switch_page(str(ROOT / "pages" / "compare.py")).run()
    assert_clean(at)
    shown = [image.proto.imgs[0].caption for image in at.get("image")]
    assert any(caption.startswith(picked.split("/")[-1]) for caption in shown)


def dataset_page(at: AppTest) -> AppTest:
    at.run()
    at.switch_page(PAGE).run()
    at.radio(key="dataset_source").set_value("here").run()
    assert_clean(at)
    return at


def test_the_bundled_subset_is_explained_in_the_app(bundled_model):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.session_state["dataset_methods"] = ["gradcam"]
    dataset_page(at)
    next(button for button in at.button if button.label.startswith("Explain 300")).click().run()
    assert_clean(at)
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["Images"] == "300" and metrics["Failed"] == "0"
    assert float(metrics["Accuracy"].rstrip("%")) > 80
    held = at.session_state["_dataset_in_memory"]
    assert held.summary["folder"] is None and len(held.held_maps) == 300
    captions = [image.proto.imgs[0].caption for image in at.get("image")]
    assert set(fashion_mnist.CLASS_NAMES) <= set(captions)  # a mean map per class, then the neighbours


def test_a_zip_of_class_folders_is_read_in_memory(bundled_model, tmp_path):
    subset = np.load(ROOT / "models" / "bundled" / "fashion_mnist_subset.npz")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in ("Bag", "Trouser"):
            indices = np.flatnonzero(subset["test_labels"] == fashion_mnist.CLASS_NAMES.index(name))[:3]
            for index in indices:
                archive.writestr(f"shop/{name}/{index}.png", imaging.png_bytes(subset["test_images"][index]))
        archive.writestr("shop/Bag/broken.png", b"not a picture")
        archive.writestr("__MACOSX/shop/._junk", b"resource fork")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.session_state["dataset_methods"] = ["gradcam"]
    at.session_state["dataset_images"] = "upload"
    at.session_state["dataset_model"] = "fashion_mnist_cnn"
    dataset_page(at)
    at.file_uploader(key="dataset_upload").upload("shop.zip", buffer.getvalue(), "application/zip").run()
    next(button for button in at.button if button.label.startswith("Explain 7")).click().run()
    assert_clean(at)
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["Images"] == "7" and metrics["Failed"] == "1"
    held = at.session_state["_dataset_in_memory"]
    assert set(held.rows["label"]) == {"Bag", "Trouser"}  # the class folders, below the zipped dataset folder
    assert not list(tmp_path.iterdir())
