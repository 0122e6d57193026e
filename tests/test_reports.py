"""Reports (reports/): the HTML is one file that needs nothing else, the PDF is A4 with real text and pages that are
not blank, both show everything the Compare page shows about the view, and no patient data reaches either."""

from __future__ import annotations

import base64
import html
import json
import re
import shutil
import subprocess
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import cv2
import numpy as np
import pytest

import cli
import explainers
import imaging
import metrics
import reports
from tests.test_dicom import PHI, dicom_bytes

METHODS = ("saliency", "gradcam", "smoothgrad")
UNICODE_NAME = "Ünïcödé café — Жук ≥ 5 __x__ --y-- **z** <i>&"
"""A class name with letters beyond Latin-1, Markdown markers and HTML: shown as written, never read as markup."""


@pytest.fixture(scope="module")
def view(bundled_source, bundled_model):
    """The coffee sample through the bundled model, three maps, faithfulness for two of them and the randomisation
    check for one; the top class renamed to ``UNICODE_NAME``."""
    loaded = imaging.load_sample("coffee")
    window = loaded.default_window
    image = imaging.resize_for_model(imaging.apply_window(loaded.values, window), bundled_source.input_size)
    inputs = bundled_source.preprocess(image)
    outputs = explainers.predict(bundled_model, inputs[None])[0]
    names = list(bundled_source.class_names())
    target = int(np.argmax(outputs))
    names[target] = UNICODE_NAME
    prediction = explainers.Prediction(
        explainers.output_kind(bundled_model), outputs, explainers.probabilities(bundled_model, outputs), tuple(names)
    )
    black = bundled_source.black_image()
    explanations = list(
        explainers.explain_many(bundled_model, inputs, METHODS, target=target, baseline=black, options={})
    )
    explanations.sort(key=lambda e: METHODS.index(e.method))
    chance = metrics.random_curves(bundled_model, inputs, target, black, seed=0)
    faithfulness = {
        e.method: metrics.curves(bundled_model, inputs, e.attribution, target, black) for e in explanations[:2]
    }
    randomization = {"saliency": metrics.randomization_check(bundled_model, inputs, explanations[0], baseline=black)}
    display = imaging.Display(colormap="viridis", opacity=0.6, normalisation="max")
    report = reports.compose(
        model=reports.ModelFacts.of(bundled_source, prediction.kind, explanations[1].layer),
        image=reports.ImageFacts.of(loaded, "Coffee (sample)", window, image),
        prediction=prediction,
        target=target,
        explanations=explanations,
        display=display,
        faithfulness=faithfulness,
        chance=chance,
        randomization=randomization,
        unavailable={"occlusion": "made-up reason for the test"},
        created=datetime(2026, 11, 24, 12, 30, tzinfo=UTC),
    )
    return report, explanations, image, faithfulness, randomization


def words(text: str) -> str:
    return " ".join(text.split())


def expected_sentences(report: reports.Report, explanations, faithfulness, randomization) -> list[str]:
    """What every report must say, as plain text (the engine's ``**bold**`` dropped)."""
    expected = [
        report.model.label,
        report.model.description,
        report.model.preprocessing,
        report.image.window,
        report.image.stored,
        report.chart_title,
        UNICODE_NAME,
        report.display_text,
        "made-up reason for the test",
        "2026-11-24 12:30",
        f"{reports.APP_NAME} {reports.APP_VERSION}",
        f"{report.chart_rows[0][1]:.1%}",
    ]
    for explanation in explanations:
        info = explanation.info
        expected += [info.label, info.description, info.misleads_when, info.paper]
        expected.append(explainers.caption(explanation, UNICODE_NAME, report.target.split(" (")[-1].rstrip(")")))
        expected.append(metrics.reproducibility_text(explanation).replace("**", ""))
    for curves in faithfulness.values():
        expected += [f"Deletion AUC {curves.deletion_auc:.3f}", f"Insertion AUC {curves.insertion_auc:.3f}"]
    for method, result in randomization.items():
        info = explainers.METHODS[method]
        expected.append(metrics.randomization_text(result, info).replace("**", ""))
    expected.append(metrics.randomization_text(None, explainers.METHODS["gradcam"]).replace("**", ""))
    return [words(sentence) for sentence in expected]


class _Resources(HTMLParser):
    """Every tag and every attribute that could make a browser fetch something."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.sources: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.sources += [value for name, value in attrs if name in {"src", "href", "srcset", "poster", "data"}]


def decoded(data_uri: str) -> np.ndarray:
    payload = base64.b64decode(data_uri.removeprefix("data:image/png;base64,"))
    return cv2.cvtColor(cv2.imdecode(np.frombuffer(payload, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def test_the_html_report_is_one_file_that_says_everything_the_page_shows(view):
    report, explanations, image, faithfulness, randomization = view
    document = reports.render(report, "html").decode("utf-8")
    parser = _Resources()
    parser.feed(document)
    assert not {"script", "link", "iframe", "object", "embed", "base"} & set(parser.tags)
    assert "url(" not in document and "@import" not in document
    assert "<i>" not in document, "a class name was read as HTML"
    assert all(source.startswith("data:image/png;base64,") for source in parser.sources)
    assert len(parser.sources) == 1 + len(explanations)  # the image as the model saw it, then each map
    np.testing.assert_array_equal(decoded(parser.sources[0]), report.image.picture)
    for source, explanation in zip(parser.sources[1:], explanations, strict=True):
        overlay = imaging.overlay_png(image, explanation.attribution, explanation.info.signed, report.display)
        np.testing.assert_array_equal(decoded(source), cv2.imdecode(np.frombuffer(overlay, np.uint8), -1)[..., ::-1])
    text = words(html.unescape(re.sub(r"<[^>]+>", " ", document.split("<body>")[1])))
    text = text.replace(" ,", ",").replace(" .", ".").replace(" :", ":")
    for sentence in expected_sentences(report, explanations, faithfulness, randomization):
        assert sentence in text, sentence
    for entry in report.maps:  # each colour bar's ends, in the map's own units
        assert f"<span>{imaging.scale_number(entry.colour_bar.high)}</span>" in document
    labels, matrix = report.agreement
    assert f"{matrix[0, 1]:.2f}" in document and all(label in text for label in labels)


def pdf_text(data: bytes, folder: Path) -> str:
    path = folder / "report.pdf"
    path.write_bytes(data)
    assert shutil.which("pdftotext"), "poppler-utils is missing: run the README's test command"
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True
    ).stdout.decode()


def pdf_pages(data: bytes, folder: Path) -> list[np.ndarray]:
    """Each page rendered by poppler at 40 dpi, grayscale."""
    path = folder / "pages.pdf"
    path.write_bytes(data)
    subprocess.run(["pdftoppm", "-r", "40", "-gray", "-png", str(path), str(folder / "page")], check=True)
    return [cv2.imread(str(page), cv2.IMREAD_GRAYSCALE) for page in sorted(folder.glob("page-*.png"))]


def test_the_pdf_report_is_a4_with_selectable_text_and_pages_that_are_not_blank(view, tmp_path):
    report, explanations, _, faithfulness, randomization = view
    data = reports.render(report, "pdf")
    assert data.startswith(b"%PDF-")
    (tmp_path / "info.pdf").write_bytes(data)
    info = subprocess.run(["pdfinfo", str(tmp_path / "info.pdf")], capture_output=True, check=True, text=True).stdout
    assert re.search(r"Page size:\s+595\.2\d x 841\.8\d pts \(A4\)", info), info
    text = words(pdf_text(data, tmp_path))
    for sentence in expected_sentences(report, explanations, faithfulness, randomization):
        assert sentence in text, sentence
    pages = pdf_pages(data, tmp_path)
    assert len(pages) >= 2
    for page in pages:
        height, width = page.shape
        assert abs(width / height - 210 / 297) < 0.01
        assert (page < 200).mean() > 0.005, "a blank page (a footer alone inks about 0.1 %)"
    # The first page holds the picture as the model saw it: colour-rich content, not just text.
    assert pages[0].std() > 30


def test_no_patient_data_reaches_a_report_of_a_dicom_case(bundled_source, bundled_model, tmp_path):
    data = dicom_bytes("CT_small.dcm", **PHI)
    scan = tmp_path / "Doe_Jane_Secretname.dcm"  # a file name that names the patient
    scan.write_bytes(data)
    for name in ("case.html", "case.pdf"):
        assert cli.main([str(scan), "--methods", "gradcam", "--report", str(tmp_path / name)]) == 0
    html_text = (tmp_path / "case.html").read_text()
    pdf = pdf_text((tmp_path / "case.pdf").read_bytes(), tmp_path)
    for text in (html_text, pdf):
        assert "patient-identifying DICOM attributes were dropped" in words(text)
        assert "name is left out" in words(text)
        assert "DICOM (CT), 16-bit grayscale, 128x128 pixels" in words(text)
        leaked = [value for value in (*PHI.values(), "Doe_Jane", "Secretname") if value in text]
        assert not leaked, leaked


def test_cli_reports_carry_the_numbers_of_its_summary(bundled_model, tmp_path):
    image = tmp_path / "photo.png"
    image.write_bytes(imaging.png_bytes(np.clip(imaging.load_sample("chelsea").pixels, 0, 255).astype(np.uint8)))
    out, report = tmp_path / "out", tmp_path / "view.html"
    arguments = [str(image), "--methods", "gradcam,saliency", "--metrics", "--out", str(out), "--report", str(report)]
    assert cli.main(arguments) == 0
    summary = json.loads((out / "summary.json").read_text())
    text = words(html.unescape(re.sub(r"<[^>]+>", " ", report.read_text())))
    assert text.index("Grad-CAM ·") < text.index("Saliency ·"), "maps in the order asked for"
    for entry in summary["maps"]:
        assert f"Deletion AUC {entry['deletion_auc']:.3f}" in text
        assert f"Insertion AUC {entry['insertion_auc']:.3f}" in text
        verdict = "passed" if entry["randomization"]["passed"] else "FAILED"
        assert f"Randomisation check {verdict} on this model" in text
    assert f"{summary['top5'][0]['label']} ({summary['top5'][0]['probability']:.1%})" in text
    assert "photo.png" in text


def test_cli_report_errors_are_one_line(bundled_model, tmp_path, capsys):
    image = tmp_path / "photo.png"
    image.write_bytes(imaging.png_bytes(np.zeros((32, 32, 3), np.uint8)))
    with pytest.raises(SystemExit) as stopped:
        cli.main([str(image), "--report", str(tmp_path / "view.docx")])
    assert stopped.value.code == 2
    assert "--report takes a .html or .pdf file name" in capsys.readouterr().err
    missing = tmp_path / "no-such-folder" / "view.pdf"
    assert cli.main([str(image), "--methods", "saliency", "--report", str(missing)]) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: cannot write") and "\n" not in error


def test_an_unknown_report_format_is_refused(view):
    with pytest.raises(ValueError, match="unknown report format"):
        reports.render(view[0], "docx")
