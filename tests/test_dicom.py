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
    assert "first of 15 frames used" in loaded.notes


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
