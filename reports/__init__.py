"""Reports that take a view out of the app: one image, one model, its maps and how far to trust them, as a
self-contained HTML file or an A4 PDF, built in memory. No Streamlit import.

Public API::

    from reports import ImageFacts, ModelFacts, compose, render
    report = compose(model=ModelFacts.of(source, kind, layer), image=ImageFacts.of(loaded, title, window, image),
                     prediction=prediction, target=target, explanations=explanations)
    data = render(report, "pdf")          # or "html"

Only what ``imaging`` keeps of a DICOM file reaches a report (never the patient's attributes, nor the file name).
"""

from reports._content import (
    APP_NAME,
    APP_VERSION,
    ImageFacts,
    MapEntry,
    ModelFacts,
    Report,
    compose,
    software_versions,
)
from reports.html import to_html


def to_pdf(report: Report) -> bytes:
    """The report as an A4 PDF (``reports.pdf``). fpdf2 is imported on the first PDF, not with the app's pages:
    its import took 0.4 s of the Compare page's first run."""
    from reports import pdf

    return pdf.to_pdf(report)


FORMATS = {"html": ("text/html", to_html), "pdf": ("application/pdf", to_pdf)}
"""Each report format: its MIME type and its writer."""


def render(report: Report, format: str) -> bytes:
    """The report as ``format`` (a key of :data:`FORMATS`)."""
    try:
        _, writer = FORMATS[format]
    except KeyError:
        raise ValueError(f"unknown report format {format!r}; choose from {', '.join(FORMATS)}") from None
    return writer(report)


__all__ = [
    "APP_NAME",
    "APP_VERSION",
    "FORMATS",
    "ImageFacts",
    "MapEntry",
    "ModelFacts",
    "Report",
    "compose",
    "render",
    "software_versions",
    "to_html",
    "to_pdf",
]
