"""Batch runs on a local Ray (2 CPUs): the maps are the single-image engine's, a corrupt file is recorded and
skipped, an interrupted run resumes without redoing finished shards, and a second driver joins the running Ray by
its address, as ``cli.py batch --address`` does with a cluster."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import batch
import batch.run
import cli
import explainers
import imaging
from tests.conftest import ROOT

METHODS = ("saliency", "gradcam")
SAMPLES = {"espresso/coffee.png": "coffee", "tabby cat/chelsea.png": "chelsea"}


@pytest.fixture(scope="module")
def ray_local(tmp_path_factory):
    import ray

    batch.start_ray(None, num_cpus=2, object_store_memory=100 << 20, _temp_dir=str(tmp_path_factory.mktemp("ray")))
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Two photos in class subfolders named after their ImageNet classes, and a corrupt PNG."""
    root = tmp_path_factory.mktemp("photos")
    for path, sample in SAMPLES.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        pixels = np.clip(imaging.load_sample(sample).pixels, 0, 255).astype(np.uint8)
        (root / path).write_bytes(imaging.png_bytes(pixels))
    (root / "espresso" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"not a picture" * 10)
    (root / "espresso" / "notes.txt").write_text("not an image, not listed")
    return root


def read_maps(out) -> dict[str, dict[str, np.ndarray]]:
    maps: dict[str, dict[str, np.ndarray]] = {}
    for path in sorted((out / "maps").glob("shard-*.npz")):
        with np.load(path) as archive:
            for index, image in enumerate(archive["paths"]):
                maps[str(image)] = {m: archive[m][index] for m in archive.files if m != "paths"}
    return maps


def test_the_folder_is_listed_with_its_labels(folder):
    files = batch.find_images(folder)
    assert [(f.path, f.label) for f in files] == [
        ("espresso/broken.png", "espresso"),
        ("espresso/coffee.png", "espresso"),
        ("tabby cat/chelsea.png", "tabby cat"),
    ]


def test_a_batch_gives_the_single_image_maps_and_records_the_corrupt_file(
    ray_local, folder, tmp_path, bundled_model, bundled_source
):
    out = tmp_path / "out"
    summary = batch.run_batch(folder, out, batch.Settings(methods=METHODS, metrics=True), workers=2, progress=None)
    assert (summary["images"], summary["explained"], summary["failed"]) == (3, 2, 1)
    assert summary["failures"][0]["path"] == "espresso/broken.png" and summary["failures"][0]["error"]
    assert summary["accuracy"] == 0.5  # the coffee is an espresso; Chelsea is an Egyptian Mau, not a tabby

    rows = pd.read_parquet(out / "predictions.parquet").set_index("path")
    assert rows.loc["espresso/coffee.png", "predicted_label"] == "espresso"
    assert rows.loc["espresso/broken.png", "error"] and rows.loc["espresso/broken.png", "predicted"] == -1
    maps = read_maps(out)
    for path in SAMPLES:
        loaded = imaging.load_image((folder / path).read_bytes())  # as the batch reads it
        image = imaging.resize_for_model(imaging.apply_window(loaded.values, loaded.default_window), (224, 224))
        inputs = bundled_source.preprocess(image)
        top5 = json.loads(rows.loc[path, "top5"])
        for method in METHODS:
            single = explainers.explain(bundled_model, inputs, method, target=top5[0]["index"]).attribution
            # The engine's map, stored as float16. An actor runs TensorFlow on its share of the cores, which sums in
            # another order than this process: a float32 map then differs in its last bits, which reach a float16
            # only where they cross a rounding boundary (a few pixels, by one float16 step).
            stored, expected = maps[path][method], single.astype(np.float16)
            assert (stored == expected).mean() > 0.99
            np.testing.assert_allclose(stored.astype(np.float32), single, rtol=2**-10, atol=2**-24)
            assert rows.loc[path, f"{method}_seconds"] > 0
            assert 0 <= rows.loc[path, f"{method}_deletion_auc"] <= 1
        assert rows.loc[path, "random_insertion_auc"] >= 0
    with np.load(out / "class_means.npz") as means:
        np.testing.assert_allclose(
            means["gradcam/espresso"], maps["espresso/coffee.png"]["gradcam"].astype(np.float32), rtol=1e-6
        )


def test_an_interrupted_run_resumes_without_redoing_finished_shards(ray_local, folder, tmp_path, monkeypatch):
    monkeypatch.setattr(batch.run, "SHARD_SIZE", 1)
    monkeypatch.setattr(batch.run, "ROWS_PER_CALL", 1)  # rows come back one by one
    out = tmp_path / "out"
    settings = batch.Settings(methods=("gradcam",))

    def interrupt(done, total, seconds):
        raise KeyboardInterrupt  # after the first rows come back, as a Ctrl-C would

    with pytest.raises(KeyboardInterrupt):
        batch.run_batch(folder, out, settings, workers=1, progress=interrupt)
    written = sorted(path.name for path in (out / "shards").glob("*.parquet"))
    assert 1 <= len(written) < 3
    before = {name: (out / "shards" / name).stat().st_mtime_ns for name in written}

    summary = batch.run_batch(folder, out, settings, workers=1, progress=None)
    assert summary["this_run"]["images"] == 3 - len(written)
    assert {name: (out / "shards" / name).stat().st_mtime_ns for name in written} == before, "a finished shard redone"
    assert summary["images"] == 3 and summary["explained"] == 2

    again = batch.run_batch(folder, out, settings, workers=1, progress=None)
    assert again["this_run"]["images"] == 0


def test_the_cli_runs_locally_and_joins_a_running_ray_by_its_address(ray_local, folder, tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(["batch", str(folder), "--out", str(out), "--methods", "gradcam", "--workers", "1"]) == 0
    printed = capsys.readouterr()
    assert "2 of 3 images explained, 1 failed" in printed.out and "failed: espresso/broken.png" in printed.out
    assert cli.main(["batch", str(tmp_path / "nowhere"), "--out", str(out)]) == 1
    assert capsys.readouterr().err.strip().endswith("is not a folder")

    joined = tmp_path / "joined"
    command = [
        sys.executable,
        "cli.py",
        "batch",
        str(folder),
        "--out",
        str(joined),
        "--methods",
        "gradcam",
        "--workers",
        "1",
        "--address",
        ray_local,
    ]
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=600, env=os.environ | {"RAY_AUTH_MODE": "disabled"}
    )
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads((joined / "summary.json").read_text())
    assert summary["this_run"]["address"] == ray_local and summary["explained"] == 2
    local = pd.read_parquet(out / "predictions.parquet")["predicted"].tolist()
    assert pd.read_parquet(joined / "predictions.parquet")["predicted"].tolist() == local
