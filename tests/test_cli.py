"""cli.py: files written for a real photo; one-line errors for bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import cli
import imaging
import models
from tests.conftest import FER_CLASSES, ROOT, bomb_png, save_lambda_model, unusable_model_files


@pytest.fixture(scope="module")
def coffee_jpeg(tmp_path_factory):
    import skimage.data

    path = tmp_path_factory.mktemp("images") / "coffee.jpg"
    Image.fromarray(skimage.data.coffee()).save(path)
    return path


def test_writes_overlays_maps_and_summary(coffee_jpeg, tmp_path, bundled_model):
    out = tmp_path / "out"
    assert cli.main([str(coffee_jpeg), "--methods", "saliency,gradcam,integrated_gradients", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["model"] == "efficientnet_lite0"
    assert summary["top5"][0]["label"] == "espresso" and summary["top5"][0]["index"] == 967
    assert [m["method"] for m in summary["maps"]] == ["saliency", "gradcam", "integrated_gradients"]
    by_method = {m["method"]: m for m in summary["maps"]}
    assert by_method["gradcam"]["layer"] == "head_relu6"
    assert by_method["integrated_gradients"]["completeness_relative"] < 0.01
    assert by_method["saliency"]["completeness_error"] is None
    with np.load(out / "maps.npz") as maps:
        assert sorted(maps.files) == ["gradcam", "integrated_gradients", "saliency"]
        assert maps["gradcam"].shape == (224, 224)
    for method in by_method:
        assert Image.open(out / f"{method}.png").format == "PNG"


def test_deeplift_and_lrp_from_the_command_line(coffee_jpeg, tmp_path, bundled_model):
    out = tmp_path / "out"
    assert cli.main([str(coffee_jpeg), "--methods", "deeplift,lrp", "--out", str(out)]) == 0
    by_method = {m["method"]: m for m in json.loads((out / "summary.json").read_text())["maps"]}
    assert by_method["deeplift"]["completeness_relative"] < 1e-4
    assert by_method["lrp"]["options"]["composite"] == "epsilon_plus_flat"
    assert by_method["lrp"]["completeness_error"] is not None


def test_target_and_layer_options(coffee_jpeg, tmp_path, bundled_model):
    out = tmp_path / "out"
    args = [str(coffee_jpeg), "--methods", "gradcam", "--target", "504", "--layer", "block15_project_bn"]
    assert cli.main([*args, "--out", str(out)]) == 0
    (entry,) = json.loads((out / "summary.json").read_text())["maps"]
    assert entry["target"] == 504 and entry["target_label"] == "coffee mug"
    assert entry["layer"] == "block15_project_bn"


def test_metrics_and_seed_write_what_the_issue_names(coffee_jpeg, tmp_path, bundled_model, capsys):
    runs = {}
    for seed in (0, 2):
        out = tmp_path / f"seed{seed}"
        args = [
            str(coffee_jpeg),
            "--methods",
            "smoothgrad,gradcam",
            "--metrics",
            "--seed",
            str(seed),
            "--out",
            str(out),
        ]
        assert cli.main(args) == 0
        runs[seed] = out
    summary = json.loads((runs[2] / "summary.json").read_text())
    smoothgrad, gradcam = summary["maps"]
    assert smoothgrad["reliability"] >= 0.9 and gradcam["reliability"] is None
    for entry in (smoothgrad, gradcam):
        assert 0 <= entry["deletion_auc"] <= 1 and 0 <= entry["insertion_auc"] <= 1
        assert entry["random_deletion_auc"] == summary["maps"][0]["random_deletion_auc"]
        assert entry["curve_value"] == "probability"
        check = entry["randomization"]
        assert check["passed"] is True and check["pass_below"] == 0.6
        assert check["stages"][0]["randomized"] == "original" and len(check["stages"]) == 6
    assert summary["agreement"]["methods"] == ["smoothgrad", "gradcam"]
    assert summary["agreement"]["matrix"][0][0] == 1.0
    with np.load(runs[2] / "maps.npz") as maps:
        expected = {"smoothgrad", "gradcam", "random_deletion", "random_insertion"}
        expected |= {f"{m}_{curve}" for m in ("smoothgrad", "gradcam") for curve in ("deletion", "insertion")}
        assert set(maps.files) == expected
        assert maps["gradcam_deletion"].shape == (65,)
        np.testing.assert_allclose(
            np.trapezoid(maps["gradcam_insertion"], np.linspace(0, 1, 65)), gradcam["insertion_auc"], rtol=1e-6
        )
        with np.load(runs[0] / "maps.npz") as first:
            assert not np.array_equal(first["smoothgrad"], maps["smoothgrad"])  # the seed changes the noise
            np.testing.assert_array_equal(first["gradcam"], maps["gradcam"])
    assert "reproducibility (split-half)" in capsys.readouterr().out


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "cli.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_a_bad_image_exits_non_zero_with_one_line_and_no_traceback(tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    result = run_cli(str(bad), "--out", str(tmp_path / "out"))
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr
    assert "not an image" in result.stderr
    assert not (tmp_path / "out").exists()


def test_bad_options_give_one_line(coffee_jpeg, tmp_path, capsys):
    assert cli.main([str(coffee_jpeg), "--methods", "deconvnet", "--out", str(tmp_path)]) == 1
    assert cli.main([str(tmp_path / "missing.png"), "--out", str(tmp_path)]) == 1
    assert cli.main([str(coffee_jpeg), "--target", "1000", "--out", str(tmp_path)]) == 1
    assert cli.main([str(coffee_jpeg), "--layer", "nope", "--out", str(tmp_path)]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 4 and all(line.startswith("error: ") for line in lines)
    assert "deconvnet" in lines[0] and "missing.png" in lines[1] and "1000" in lines[2] and "nope" in lines[3]


def test_list_models(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert cli.main(["--list-models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("efficientnet_lite0\t224x224x3\t") and lines[0].endswith("\tavailable")
    assert len(lines) == 10 and any(line.startswith("xception\t299x299x3") and "unavailable" in line for line in lines)


def test_a_model_file_with_class_names_and_a_16_bit_window(fer_model_bytes, tmp_path):
    model = tmp_path / "emotion_model.h5"
    model.write_bytes(fer_model_bytes)
    names = tmp_path / "emotions.json"
    names.write_text(json.dumps(list(FER_CLASSES)))
    scan = tmp_path / "scan.png"
    Image.fromarray(np.tile(np.arange(1000, 4000, 47, dtype=np.uint16), (64, 1))).save(scan)
    out = tmp_path / "out"
    args = ["--model", str(model), "--class-names", str(names), "--preprocessing", "symmetric"]
    assert (
        cli.main([str(scan), *args, "--window", "1000,4000", "--methods", "saliency,gradcam", "--out", str(out)]) == 0
    )
    summary = json.loads((out / "summary.json").read_text())
    assert summary["model"].startswith("upload-") and summary["output_kind"] == "softmax"
    assert summary["preprocessing"].startswith("-1..1") and summary["preprocessing_guess"]["preset"] == "unit"
    assert summary["window"] == [1000.0, 4000.0]
    assert {entry["label"] for entry in summary["top5"]} <= set(FER_CLASSES)
    with np.load(out / "maps.npz") as maps:
        assert maps["gradcam"].shape == (64, 64)


def test_model_file_and_unavailable_model_errors_are_one_line(coffee_jpeg, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty-keras-home"))
    save_lambda_model(tmp_path / "shift.keras")
    (tmp_path / "names.txt").write_text("a\nb\nc\n")
    out = str(tmp_path / "out")
    assert cli.main([str(coffee_jpeg), "--model", str(tmp_path / "shift.keras"), "--out", out]) == 1
    assert cli.main([str(coffee_jpeg), "--model", "resnet50", "--out", out]) == 1
    assert cli.main([str(coffee_jpeg), "--model", "efficientnet_lite0", "--preprocessing", "unit", "--out", out]) == 1
    assert cli.main([str(coffee_jpeg), "--window", "9,1", "--out", out]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 4 and all(line.startswith("error: ") for line in lines)
    assert "Lambda layer ('shift')" in lines[0]
    assert "resnet50 is unavailable" in lines[1] and "--download-weights" in lines[1]
    assert "apply to a model file" in lines[2]
    assert "low < high" in lines[3]


def sparse_file(path, size: int):
    """A file that reports ``size`` bytes without taking them on disk."""
    with path.open("wb") as file:
        file.truncate(size)
    return path


def test_bombs_and_files_over_the_limits_give_one_line(coffee_jpeg, tmp_path, capsys):
    (tmp_path / "bomb.png").write_bytes(bomb_png())
    huge_image = sparse_file(tmp_path / "huge.tif", imaging.MAX_IMAGE_BYTES + 1)
    huge_model = sparse_file(tmp_path / "huge.keras", models.MAX_MODEL_BYTES + 1)
    out = str(tmp_path / "out")
    assert cli.main([str(tmp_path / "bomb.png"), "--out", out]) == 1
    assert cli.main([str(huge_image), "--out", out]) == 1
    assert cli.main([str(coffee_jpeg), "--model", str(huge_model), "--out", out]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("error: ") for line in lines)
    assert "bomb.png: The image is too large to decode safely" in lines[0]
    assert "huge.tif: The file is 50.1 MB, over the 50 MB limit for images" in lines[1]
    assert "huge.keras is 201 MB, over the 200 MB limit for model files" in lines[2]
    assert not (tmp_path / "out").exists()


def test_every_unusable_model_file_gives_one_line(coffee_jpeg, tmp_path, capsys):
    cases = unusable_model_files(tmp_path)
    for filename, (data, _) in cases.items():
        (tmp_path / filename).write_bytes(data)
        assert cli.main([str(coffee_jpeg), "--model", str(tmp_path / filename), "--out", str(tmp_path / "out")]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == len(cases)
    for line, (filename, (_, message)) in zip(lines, cases.items(), strict=True):
        assert line.startswith(f"error: {tmp_path / filename}: ") and message in line, line


def test_bad_images_give_one_line_and_odd_ones_load_with_a_note(coffee_jpeg, tmp_path, capsys):
    coffee = Image.open(coffee_jpeg)
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "cut.jpg").write_bytes(coffee_jpeg.read_bytes()[:2000])
    for name in ("empty.png", "cut.jpg"):
        assert cli.main([str(tmp_path / name), "--out", str(tmp_path / "out")]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2 and "empty.png: The file is empty" in lines[0] and "truncated or corrupt" in lines[1]

    coffee.convert("CMYK").save(tmp_path / "cmyk.jpg")
    coffee.save(tmp_path / "animated.gif", save_all=True, append_images=[coffee.rotate(180)])
    coffee.resize((1, 1)).save(tmp_path / "dot.png")
    expected_notes = {"cmyk.jpg": "CMYK converted to RGB", "animated.gif": "first of 2 frames used", "dot.png": None}
    for name, note in expected_notes.items():
        out = tmp_path / name.replace(".", "_")
        args = ["--model", "fashion_mnist_cnn", "--methods", "saliency", "--out", str(out)]  # a small, quick model
        assert cli.main([str(tmp_path / name), *args]) == 0, name
        summary = json.loads((out / "summary.json").read_text())
        assert (note is None and summary["image_notes"] == []) or any(note in n for n in summary["image_notes"])
        with np.load(out / "maps.npz") as maps:
            assert maps["saliency"].shape == (28, 28) and np.isfinite(maps["saliency"]).all()
