"""The report as an A4 PDF with fpdf2: real text (selectable, searchable), DejaVu Sans for Unicode class names
(the font ships with Matplotlib), the pictures as lossless images."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib
import numpy as np
from fpdf import FPDF
from fpdf.enums import XPos, YPos

import imaging
import metrics
from reports._content import FAITHFULNESS_READING, MapEntry, Report

_FONT = "DejaVu"
_FONTS = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
_MARGIN = 15.0
_PAGE_WIDTH = 210.0
_TEXT_WIDTH = _PAGE_WIDTH - 2 * _MARGIN
_INK, _MUTED, _BAR = (31, 35, 40), (89, 99, 110), (76, 120, 168)
_PICTURE = 62.0
"""Width of a map's picture, mm; its text runs in the column to its right."""


class _Document(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.footer_text = footer_text
        self.add_font(_FONT, "", _FONTS / "DejaVuSans.ttf")
        self.add_font(_FONT, "B", _FONTS / "DejaVuSans-Bold.ttf")
        self.set_margins(_MARGIN, _MARGIN, _MARGIN)
        self.set_auto_page_break(True, margin=_MARGIN + 5)

    def footer(self) -> None:
        self.set_y(-_MARGIN)
        self.style(7.5, colour=_MUTED)
        self.cell(0, 5, f"{self.footer_text} · page {self.page_no()}/{{nb}}", align="C")

    def style(self, size: float, bold: bool = False, colour: tuple[int, int, int] = _INK) -> None:
        self.set_font(_FONT, "B" if bold else "", size)
        self.set_text_color(*colour)

    def paragraph(self, text: str, size: float = 9.0, colour=_INK, x: float | None = None, width: float | None = None):
        """Flowing text in a column from ``x`` of ``width`` mm. ``text`` is fpdf2 Markdown: build it with
        :func:`_plain`, :func:`_bold` and :func:`_marked`, so that a class or layer name holding ``**``, ``__`` or
        ``--`` is shown as written."""
        x = _MARGIN if x is None else x
        width = _PAGE_WIDTH - _MARGIN - x if width is None else width
        self.style(size, colour=colour)
        self.set_x(x)
        self.multi_cell(width, size * 0.47, text, markdown=True, align="L", new_x=XPos.LEFT, new_y=YPos.NEXT)
        self.ln(1.2)

    def heading(self, text: str, size: float = 13.0, room: float = 20.0) -> None:
        """A section title, on a new page unless ``room`` mm (the title and what must follow it) fit here."""
        if self.will_page_break(room):
            self.add_page()
        self.ln(3)
        self.style(size, bold=True)
        self.multi_cell(0, size * 0.5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_draw_color(208, 215, 222)
        self.line(_MARGIN, self.get_y() + 0.8, _PAGE_WIDTH - _MARGIN, self.get_y() + 0.8)
        self.ln(3)

    def facts(self, rows: list[tuple[str, str]]) -> None:
        for name, value in rows:
            top = self.get_y()
            self.style(8.5, bold=True, colour=_MUTED)
            self.multi_cell(34, 4.4, name, new_x=XPos.RIGHT, new_y=YPos.TOP)
            self.style(8.5)
            self.multi_cell(_TEXT_WIDTH - 34, 4.4, value, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.set_y(max(self.get_y(), top + 4.4) + 0.6)


def _plain(text: str) -> str:
    """``text`` shown as written by fpdf2's Markdown mode: its markers and link brackets escaped."""
    text = text.replace(FPDF.MARKDOWN_ESCAPE_CHARACTER, FPDF.MARKDOWN_ESCAPE_CHARACTER * 2)
    for marker in FPDF.MARKDOWN_MARKERS:
        text = text.replace(marker, FPDF.MARKDOWN_ESCAPE_CHARACTER + marker)
    return text.replace("](", "]\u200b(")  # [a](b) would become a link


def _bold(text: str) -> str:
    return FPDF.MARKDOWN_BOLD_MARKER + _plain(text) + FPDF.MARKDOWN_BOLD_MARKER


def _marked(sentence: str) -> str:
    """One of the engine's sentences, whose ``**bold**`` runs are meant as bold."""
    return FPDF.MARKDOWN_BOLD_MARKER.join(_plain(part) for part in sentence.split("**"))


def _png(data: bytes) -> io.BytesIO:
    return io.BytesIO(data)


def _colour_bar_png(bar: imaging.ColourBar, colormap: str) -> bytes:
    table = np.rint(imaging.colour_table(bar.signed, colormap)).astype(np.uint8)
    return imaging.png_bytes(np.repeat(table[None], 8, axis=0))


def _chart(pdf: _Document, report: Report, x: float, y: float) -> float:
    """The prediction chart as text and bars; returns the y under it."""
    pdf.set_xy(x, y)
    pdf.style(10, bold=True)
    pdf.multi_cell(_PAGE_WIDTH - _MARGIN - x, 5, report.chart_title, new_x=XPos.LEFT, new_y=YPos.NEXT)
    label_width, bar_width, row = 48.0, 38.0, 6.5
    largest = max((abs(v) for _, v in report.chart_rows), default=1.0) or 1.0
    top = pdf.get_y() + 1
    for index, (name, value) in enumerate(report.chart_rows):
        row_y = top + index * row
        pdf.style(8.5)
        short = name if pdf.get_string_width(name) <= label_width - 2 else name[:28] + "…"
        pdf.set_xy(x, row_y)
        pdf.cell(label_width - 2, row, short, align="R")
        fraction = min(max(value, 0.0), 1.0) if report.chart_is_probability else abs(value) / largest
        pdf.set_fill_color(*_BAR)
        pdf.rect(x + label_width, row_y + 1.2, max(bar_width * fraction, 0.2), row - 2.4, style="F")
        pdf.set_xy(x + label_width + bar_width * fraction + 1.5, row_y)
        pdf.cell(20, row, f"{value:.1%}" if report.chart_is_probability else f"{value:.3g}")
    bottom = top + len(report.chart_rows) * row + 2
    pdf.set_xy(x, bottom)
    pdf.paragraph("Explained class: " + _bold(report.target), 9.5, x=x)
    return pdf.get_y()


def _map_block(pdf: _Document, entry: MapEntry, colormap: str) -> None:
    if pdf.will_page_break(_PICTURE + 22):
        pdf.add_page()
    top, page = pdf.get_y(), pdf.page_no()
    pdf.image(_png(entry.picture), x=_MARGIN, y=top, w=_PICTURE)
    bar_y = top + _PICTURE + 1.5
    pdf.image(_png(_colour_bar_png(entry.colour_bar, colormap)), x=_MARGIN, y=bar_y, w=_PICTURE, h=2.6)
    pdf.style(7)
    bar = entry.colour_bar
    middle = 0.0 if bar.signed else bar.high / 2
    for value, align, offset in ((bar.low, "L", 0), (middle, "C", _PICTURE / 2 - 10), (bar.high, "R", _PICTURE - 20)):
        pdf.set_xy(_MARGIN + offset, bar_y + 2.8)
        pdf.cell(20, 3.2, imaging.scale_number(value), align=align)
    pdf.set_xy(_MARGIN, bar_y + 6)
    pdf.style(6.5, colour=_MUTED)
    pdf.cell(_PICTURE, 3, bar.label, align="C")
    below_picture = bar_y + 10

    x, width = _MARGIN + _PICTURE + 6, _TEXT_WIDTH - _PICTURE - 6
    pdf.set_xy(x, top)
    pdf.paragraph(_bold(f"{entry.label} · {entry.class_name}"), 11, x=x, width=width)
    pdf.paragraph(_plain(entry.caption), 7.5, _MUTED, x=x, width=width)
    pdf.paragraph(_plain(entry.description), 8.5, x=x, width=width)
    pdf.paragraph(_bold("Can mislead:") + " " + _plain(entry.misleads_when), 8.5, x=x, width=width)
    if entry.warning:
        pdf.paragraph(_bold("Warning:") + " " + _plain(entry.warning), 8.5, (154, 103, 0), x=x, width=width)
    for sentence in entry.trust:
        pdf.paragraph(_marked(sentence), 8.5, x=x, width=width)
    pdf.paragraph(_plain(entry.paper), 7.5, _MUTED, x=x, width=width)
    if pdf.page_no() == page:  # else the text ran onto the next page, past the picture
        pdf.set_y(max(pdf.get_y(), below_picture))
    pdf.ln(4)


def _table(pdf: _Document, header: list[str], rows: list[list[str]], widths: list[float]) -> None:
    pdf.set_draw_color(208, 215, 222)
    for index, cells in enumerate([header, *rows]):
        if pdf.will_page_break(6):
            pdf.add_page()
        pdf.style(8, bold=index == 0)
        for column, (text, width) in enumerate(zip(cells, widths, strict=True)):
            pdf.cell(width, 5.5, text, border=1, align="L" if column == 0 else "R")
        pdf.ln(5.5)


def to_pdf(report: Report) -> bytes:
    """The report as A4 PDF bytes, built in memory."""
    made = f"{report.created:%Y-%m-%d %H:%M} UTC"
    pdf = _Document(f"{report.software.split(' · ')[0]} · {made}")
    pdf.set_title(report.title)
    pdf.set_creator(report.software)
    pdf.set_creation_date(report.created)
    pdf.add_page()
    pdf.style(17, bold=True)
    pdf.multi_cell(0, 8, report.title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.paragraph(_plain(f"{report.model.label} · made {made} · {report.software}"), 8, _MUTED)

    model = report.model
    pdf.heading("Model")
    rows = [("Model", model.label), ("About", model.description), ("Preprocessing", model.preprocessing)]
    if model.preprocessing_reason:
        rows.append(("Why", model.preprocessing_reason))
    if model.file_sha256:
        rows.append(("File SHA-256", model.file_sha256))
    if model.cam_layer:
        rows.append(("CAM layer", model.cam_layer))
    pdf.facts(rows)

    image = report.image
    pdf.heading("Image and prediction")
    pdf.facts(
        [("Image", image.title), ("Stored", image.stored), ("Intensity window", image.window)]
        + [("Note", note) for note in image.notes]
    )
    top = pdf.get_y() + 2
    if pdf.will_page_break(70):
        pdf.add_page()
        top = pdf.get_y()
    pdf.image(_png(imaging.png_bytes(image.picture)), x=_MARGIN, y=top, w=58)
    height, width = image.picture.shape[:2]
    pdf.set_xy(_MARGIN, top + 59)
    pdf.style(7.5, colour=_MUTED)
    pdf.cell(58, 4, f"As the model saw it ({width}x{height})", align="C")
    below = _chart(pdf, report, _MARGIN + 66, top)
    pdf.set_y(max(below, top + 64) + 2)

    pdf.heading("Attribution maps")
    pdf.paragraph(_plain(report.display_text), 8, _MUTED)
    for label, why in report.unavailable:
        pdf.paragraph(_bold(label) + " not shown: " + _plain(why), 8.5)
    pdf.ln(2)
    for entry in report.maps:
        _map_block(pdf, entry, report.display.colormap)

    if report.agreement is not None:
        labels, matrix = report.agreement
        pdf.heading("Agreement between methods", room=30 + 5.5 * (len(labels) + 1))
        pdf.paragraph(_plain(f"Spearman rank correlation of |map|. {metrics.AGREEMENT.reading}"), 8, _MUTED)
        count = len(labels)
        cell = min(16.0, (_TEXT_WIDTH - 52) / count)
        rows = [
            [f"{i + 1} {label}"] + [f"{float(v):.2f}" for v in values]
            for i, (label, values) in enumerate(zip(labels, matrix, strict=True))
        ]
        _table(pdf, [""] + [str(i + 1) for i in range(count)], rows, [52.0] + [cell] * count)
    if report.faithfulness is not None:
        pdf.heading("Faithfulness", room=40 + 5.5 * (len(report.faithfulness) + 1))
        pdf.paragraph(_plain(FAITHFULNESS_READING), 8, _MUTED)
        frame = report.faithfulness
        rows = [
            [f"{v:.3f}" if isinstance(v, float) else str(v) for v in record] for record in frame.itertuples(index=False)
        ]
        header = ["Method", "Deletion AUC ↓", "Insertion AUC ↑", "Deletion rank", "Insertion rank"]
        _table(pdf, header, rows, [50.0, 34.0, 34.0, 31.0, 31.0])
        pdf.paragraph(_plain("↓ lower is better, ↑ higher is better; rank 1 is the best."), 7.5, _MUTED)
    pdf.ln(6)
    pdf.paragraph(
        "Attribution maps are hypotheses about the model, not proof: read each with its “can mislead” note and its "
        "trust checks.",
        8,
        _MUTED,
    )
    return bytes(pdf.output())
