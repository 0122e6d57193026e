"""DICOM images (imaging/dicom.py) with pydicom's own test files: modality LUT, the file's window, MONOCHROME1,
multi-frame, what cannot be read, and no patient data anywhere — not in the image, the page or the CLI's output."""

from __future__ import annotations

import io
import json

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.pixels import apply_modality_lut
from streamlit.testing.v1 import AppTest

import cli
import imaging
import reports
from tests.conftest import ROOT
from tests.test_app import TIMEOUT, assert_clean, map_images

PHI = {
    "PatientName": "Doe^Jane^Secretname",
    "PatientID": "PHI-123456",
    "PatientBirthDate": "19700101",
    "PatientAddress": "42 Example Street, Sometown",
    "InstitutionName": "St Example Hospital",
    "ReferringPhysicianName": "Whoever^Doctor",
    "AccessionNumber": "ACC-998877",
    "StudyDate": "20240229",
}


def dicom_bytes(name: str, **changes) -> bytes:
    dataset = pydicom.dcmread(get_testdata_file(name))
    for key, value in changes.items():
        setattr(dataset, key, value)
    buffer = io.BytesIO()
    dataset.save_as(buffer)
    return buffer.getvalue()


def test_ct_values_are_modality_units_with_the_files_window():
    dataset = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    expected = apply_modality_lut(dataset.pixel_array, dataset)
    unwindowed = imaging.load_image(dicom_bytes("CT_small.dcm"))
    np.testing.assert_array_equal(unwindowed.values[..., 0], expected.astype(np.float32))
    assert unwindowed.format == "DICOM" and unwindowed.original_mode == "CT" and unwindowed.bit_depth > 8
    assert unwindowed.grayscale and unwindowed.default_window == imaging.full_range(unwindowed.values)
    loaded = imaging.load_image(dicom_bytes("CT_small.dcm", WindowCenter=[40, 300], WindowWidth=[400, 1500]))
    assert [label for label, _ in loaded.window_presets] == ["file window 1", "file window 2"]
    assert loaded.default_window == imaging.Window.from_level(40, 400)
    assert loaded.window_presets[1][1] == imaging.Window.from_level(300, 1500)
    assert any("pixel spacing 0.661468" in note for note in loaded.notes)
    assert any("modality LUT" in note for note in loaded.notes)


def test_monochrome1_is_inverted_and_its_window_with_it():
    plain = imaging.load_image(dicom_bytes("CT_small.dcm"))
    inverted = imaging.load_image(dicom_bytes("CT_small.dcm", PhotometricInterpretation="MONOCHROME1"))
    low, high = plain.values.min(), plain.values.max()
    np.testing.assert_allclose(inverted.values, (low + high) - plain.values)
    np.testing.assert_allclose(
        imaging.apply_window(inverted.values, inverted.default_window)[..., 0],
        255.0 - imaging.apply_window(plain.values, plain.default_window)[..., 0],
        atol=1e-3,
    )
    assert any("MONOCHROME1 inverted" in note for note in inverted.notes)


def test_a_multi_frame_file_gives_its_first_frame_and_says_so():
    loaded = imaging.load_image(dicom_bytes("rtdose.dcm"))
    dataset = pydicom.dcmread(get_testdata_file("rtdose.dcm"))
    np.testing.assert_array_equal(loaded.values[..., 0], apply_modality_lut(dataset.pixel_array, dataset)[0])
    assert "frame 1 of 15" in loaded.notes


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("JPEGLSNearLossless_08.dcm", "pip install pylibjpeg"),
        ("rtplan.dcm", "holds no image"),
    ],
)
def test_what_cannot_be_read_gets_a_sentence(name, message):
    with pytest.raises(imaging.ImageError, match=message):
        imaging.load_image(dicom_bytes(name))


def test_no_patient_data_reaches_the_image_the_page_or_the_cli(bundled_model, tmp_path):
    data = dicom_bytes("CT_small.dcm", **PHI)
    loaded = imaging.load_image(data)
    assert not any(value in repr(loaded) for value in PHI.values())
    assert any("patient-identifying DICOM attributes were dropped" in note for note in loaded.notes)

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.session_state["methods"] = ["gradcam"]
    at.run()
    at.radio(key="image_source").set_value("Upload").run()
    at.file_uploader(key="upload").upload("scan.dcm", data, "application/dicom").run()
    assert_clean(at)
    assert len(map_images(at)) == 1
    shown = " ".join(str(getattr(element, "value", "")) for element in [*at.main, *at.sidebar])
    shown += " ".join(image.proto.imgs[0].caption for image in at.get("image"))
    assert "patient-identifying DICOM attributes were dropped" in shown
    assert not any(value in shown for value in PHI.values())
    assert not any(value in repr(at.session_state["last_good_image"]) for value in PHI.values())

    scan = tmp_path / "IM000001"  # no extension: recognised by its preamble
    scan.write_bytes(data)
    assert cli.main([str(scan), "--methods", "gradcam", "--out", str(tmp_path / "out")]) == 0
    written = " ".join(path.read_bytes().decode("latin-1") for path in (tmp_path / "out").iterdir())
    assert not any(value in written for value in PHI.values())
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert any("patient-identifying" in note for note in summary["image_notes"])


def test_a_frame_too_large_is_refused_before_it_is_decoded(monkeypatch):
    monkeypatch.setattr(imaging.io, "MAX_PIXELS", 100)
    with pytest.raises(imaging.ImageError, match="128x128 pixels"):
        imaging.load_image(dicom_bytes("CT_small.dcm"))


def test_the_files_windows_are_offered_in_the_sidebar_and_the_cli(bundled_model, tmp_path):
    data = dicom_bytes("CT_small.dcm", WindowCenter=[40, 300], WindowWidth=[400, 1500])
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.session_state["methods"] = ["gradcam"]
    at.run()
    at.radio(key="image_source").set_value("Upload").run()
    at.file_uploader(key="upload").upload("scan.dcm", data, "application/dicom").run()
    mode = next(radio for radio in at.radio if radio.key and radio.key.startswith("intensity_"))
    assert mode.value == "preset_0" and mode.options[:2] == ["file window 1: -160..240", "file window 2: -450..1050"]
    before = at.session_state["_cache_results"].bytes
    mode.set_value("preset_1").run()
    assert_clean(at)
    assert at.session_state["_cache_results"].bytes > before, "another window, another input"

    scan = tmp_path / "scan.dcm"
    scan.write_bytes(data)
    assert cli.main([str(scan), "--methods", "gradcam", "--dicom-window", "2", "--out", str(tmp_path / "out")]) == 0
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["window"] == [-450.0, 1050.0]
    assert cli.main([str(scan), "--methods", "gradcam", "--dicom-window", "3", "--out", str(tmp_path / "x")]) == 1


def test_any_frame_of_a_multi_frame_file_is_decoded_alone():
    data = dicom_bytes("rtdose.dcm")
    dataset = pydicom.dcmread(get_testdata_file("rtdose.dcm"))
    loaded = imaging.load_image(data, frame=4)
    np.testing.assert_array_equal(loaded.values[..., 0], apply_modality_lut(dataset.pixel_array, dataset)[4])
    assert (loaded.frames, loaded.frame) == (15, 4) and "frame 5 of 15" in loaded.notes
    with pytest.raises(imaging.ImageError, match="has 15 frames; there is no frame 16"):
        imaging.load_image(data, frame=15)
    with pytest.raises(imaging.ImageError, match="not a DICOM file"):
        imaging.load_image(imaging.png_bytes(np.zeros((8, 8, 3), np.uint8)), frame=1)


def test_pixel_spacing_reaches_the_caption_and_the_report():
    loaded = imaging.load_image(dicom_bytes("CT_small.dcm"))
    assert loaded.pixel_spacing == (0.661468, 0.661468)
    assert loaded.spacing_text == "0.661468 x 0.661468 mm pixels, a 85 x 85 mm field"
    image = imaging.resize_for_model(imaging.apply_window(loaded.values, loaded.default_window), (32, 32))
    facts = reports.ImageFacts.of(loaded, "scan.dcm", loaded.default_window, image)
    assert facts.stored.endswith("; 0.661468 x 0.661468 mm pixels, a 85 x 85 mm field")


def test_the_page_picks_a_frame_of_an_upload_without_extension_and_the_cli_too(bundled_model, tmp_path, capsys):
    data = dicom_bytes("rtdose.dcm")
    dataset = pydicom.dcmread(get_testdata_file("rtdose.dcm"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.session_state["methods"] = ["gradcam"]
    at.run()
    at.radio(key="image_source").set_value("Upload").run()
    at.file_uploader(key="upload").upload("RTDOSE0001", data, "application/octet-stream").run()
    assert_clean(at)
    frame = next(box for box in at.sidebar.number_input if box.key and box.key.startswith("frame_"))
    assert frame.label == "Frame (1 to 15)" and frame.value == 1
    frame.set_value(7).run()
    assert_clean(at)
    assert "Note: frame 7 of 15." in [caption.value for caption in at.sidebar.caption]
    kept = at.session_state["last_good_image"].loaded
    np.testing.assert_array_equal(kept.values[..., 0], apply_modality_lut(dataset.pixel_array, dataset)[6])
    captions = [image.proto.imgs[0].caption for image in at.get("image")]
    assert any("10 x 10 mm pixels, a 100 x 100 mm field" in caption for caption in captions)

    scan = tmp_path / "RTDOSE0001"
    scan.write_bytes(data)
    assert cli.main([str(scan), "--methods", "gradcam", "--frame", "7", "--out", str(tmp_path / "out")]) == 0
    assert "frame 7 of 15" in json.loads((tmp_path / "out" / "summary.json").read_text())["image_notes"]
    capsys.readouterr()
    assert cli.main([str(scan), "--methods", "gradcam", "--frame", "16", "--out", str(tmp_path / "x")]) == 1
    assert capsys.readouterr().err.strip().endswith("has 15 frames; there is no frame 16.")


def voi_lut_ct(photometric: str = "MONOCHROME2") -> tuple[bytes, np.ndarray]:
    """CT_small with a sigmoid VOI LUT (no WindowCenter/Width): the file's bytes and, per pixel, the LUT's output
    on 0..1 by the standard's lookup (PS3.3 C.11.2: clamped at both ends of the table)."""
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    dataset = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    entries, first = 2048, -1024
    table = np.rint(65535 / (1 + np.exp(-(np.arange(first, first + entries) - 100) / 120))).astype(np.uint16)
    item = Dataset()
    item.add_new(0x00283002, "US", [entries, first + 2**16, 16])  # LUTDescriptor: a signed first value as written
    item.add_new(0x00283006, "US", table.tolist())  # LUTData
    dataset.VOILUTSequence = Sequence([item])
    for name in ("WindowCenter", "WindowWidth"):
        if name in dataset:
            delattr(dataset, name)
    dataset.PhotometricInterpretation = photometric
    buffer = io.BytesIO()
    dataset.save_as(buffer)
    values = apply_modality_lut(dataset.pixel_array, dataset)
    expected = table[np.clip(np.rint(values).astype(int) - first, 0, entries - 1)] / 65535
    return buffer.getvalue(), expected


def test_a_voi_lut_is_offered_as_its_curve():
    data, expected = voi_lut_ct()
    loaded = imaging.load_image(data)
    label, window = loaded.window_presets[0]
    assert label == "file VOI LUT (curve)" and window.curve is not None
    assert loaded.default_window == window
    shown = imaging.apply_window(loaded.values, window)[..., 0] / 255
    np.testing.assert_allclose(shown, expected, atol=2e-3)
    linear = imaging.apply_window(loaded.values, imaging.Window(window.low, window.high))[..., 0] / 255
    assert np.abs(linear - expected).max() > 0.1, "the curve is not a straight window"

    flipped, expected_flipped = voi_lut_ct("MONOCHROME1")
    mirrored = imaging.load_image(flipped)
    shown = imaging.apply_window(mirrored.values, mirrored.window_presets[0][1])[..., 0] / 255
    np.testing.assert_allclose(shown, 1 - expected_flipped, atol=2e-3)  # MONOCHROME1: high output is dark
