"""The report as one self-contained HTML file: pictures as data URIs, the chart as inline SVG, no script, no
font or style sheet from elsewhere — opened offline, it makes no request."""

from __future__ import annotations

import base64
import html
import re

import imaging
import metrics
from reports._content import FAITHFULNESS_READING, Report

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1f2328;margin:0;
background:#fff;line-height:1.45}
main{max-width:1040px;margin:0 auto;padding:24px}
h1{font-size:1.6rem;margin:0 0 4px}h2{font-size:1.2rem;margin:28px 0 8px;border-bottom:1px solid #d0d7de;
padding-bottom:4px}h3{font-size:1rem;margin:0 0 6px}
.muted{color:#59636e;font-size:.85rem}
table.facts{border-collapse:collapse;font-size:.9rem}table.facts th{text-align:left;padding:3px 12px 3px 0;
vertical-align:top;color:#59636e;font-weight:600;white-space:nowrap}table.facts td{padding:3px 0}
.case{display:flex;gap:24px;flex-wrap:wrap;align-items:flex-start}.case figure{margin:0}
figure img,.map img{width:100%;image-rendering:auto;border-radius:4px;display:block}
.maps{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:20px}
.map{border:1px solid #d0d7de;border-radius:8px;padding:12px;break-inside:avoid}
.bar{padding-top:.7rem}.map p{margin:6px 0;font-size:.88rem}
.warn{background:#fff8c5;border-radius:4px;padding:4px 8px}
table.grid{border-collapse:collapse;font-size:.85rem}table.grid th,table.grid td{border:1px solid #d0d7de;
padding:4px 8px;text-align:right}table.grid th:first-child,table.grid td:first-child{text-align:left}
code{font-size:.85em;word-break:break-all}
@media print{main{padding:0}.map{page-break-inside:avoid}}
"""


def _text(text: str) -> str:
    """Escaped, with the engine's Markdown ``**bold**`` as <strong>."""
    return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html.escape(text))


def _png(data: bytes, alt: str) -> str:
    encoded = base64.b64encode(data).decode("ascii")
    return f'<img src="data:image/png;base64,{encoded}" alt="{html.escape(alt)}">'


def chart_svg(rows: tuple[tuple[str, float], ...], probability: bool, title: str) -> str:
    """The prediction chart as inline SVG: one labelled bar per class, its value at the bar's end."""
    row_height, label_width, bar_width, width = 26, 190, 200, 460
    height = row_height * len(rows) + 8
    largest = max((abs(value) for _, value in rows), default=1.0) or 1.0
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{html.escape(title)}" font-family="inherit" font-size="13">'
    ]
    for row, (name, value) in enumerate(rows):
        y = 4 + row * row_height
        length = bar_width * (min(max(value, 0.0), 1.0) if probability else abs(value) / largest)
        shown = f"{value:.1%}" if probability else f"{value:.3g}"
        short = name if len(name) <= 26 else name[:25] + "…"
        parts.append(
            f'<text x="{label_width - 6}" y="{y + 17}" text-anchor="end"><title>{html.escape(name)}</title>'
            f"{html.escape(short)}</text>"
            f'<rect x="{label_width}" y="{y + 4}" width="{length:.1f}" height="{row_height - 8}" fill="#4c78a8"/>'
            f'<text x="{label_width + length + 4:.1f}" y="{y + 17}">{shown}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _facts(rows: list[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{html.escape(name)}</th><td>{value}</td></tr>" for name, value in rows)
    return f'<table class="facts">{body}</table>'


def _model_section(report: Report) -> str:
    model = report.model
    rows = [("Model", html.escape(model.label)), ("About", html.escape(model.description))]
    rows.append(("Preprocessing", html.escape(model.preprocessing)))
    if model.preprocessing_reason:
        rows.append(("Why", html.escape(model.preprocessing_reason)))
    if model.file_sha256:
        rows.append(("File SHA-256", f"<code>{model.file_sha256}</code>"))
    if model.cam_layer:
        rows.append(("CAM layer", f"<code>{html.escape(model.cam_layer)}</code>"))
    return "<h2>Model</h2>" + _facts(rows)


def _case_section(report: Report) -> str:
    image = report.image
    rows = [("Image", html.escape(image.title)), ("Stored", html.escape(image.stored))]
    rows.append(("Intensity window", html.escape(image.window)))
    rows += [("Note", html.escape(note)) for note in image.notes]
    height, width = image.picture.shape[:2]
    picture = _png(imaging.png_bytes(image.picture), f"{image.title}, as the model saw it")
    return (
        "<h2>Image and prediction</h2>" + _facts(rows) + '<div class="case" style="margin-top:12px">'
        f'<figure style="width:260px">{picture}<figcaption class="muted">As the model saw it ({width}x{height}, '
        "after the intensity window)</figcaption></figure>"
        f"<div><h3>{html.escape(report.chart_title)}</h3>"
        f"{chart_svg(report.chart_rows, report.chart_is_probability, report.chart_title)}"
        f"<p>Explained class: <strong>{html.escape(report.target)}</strong></p></div></div>"
    )


def _map_card(entry) -> str:
    bar = imaging.colour_bar_html(entry.colour_bar)
    trust = "".join(f"<p>{_text(sentence)}</p>" for sentence in entry.trust)
    warning = f'<p class="warn">{_text(entry.warning)}</p>' if entry.warning else ""
    return (
        f'<section class="map"><h3>{html.escape(entry.label)} · {html.escape(entry.class_name)}</h3>'
        f"{_png(entry.picture, f'{entry.label} map over the image')}"
        f'<div class="bar">{bar}</div>'
        f'<p class="muted">{html.escape(entry.caption)}</p>'
        f"<p>{html.escape(entry.description)}</p>"
        f"<p><strong>Can mislead:</strong> {html.escape(entry.misleads_when)}</p>"
        f'<p class="muted">{html.escape(entry.paper)}</p>'
        f"{warning}<h3 style='margin-top:10px'>How far to trust it</h3>{trust}</section>"
    )


def _agreement_table(labels: tuple[str, ...], matrix) -> str:
    head = "".join(f"<th>{html.escape(label)}</th>" for label in labels)
    rows = []
    for label, values in zip(labels, matrix, strict=True):
        cells = "".join(
            f'<td style="background:rgba(76,120,168,{max(float(v), 0.0) * 0.45:.2f})">{float(v):.2f}</td>'
            for v in values
        )
        rows.append(f"<tr><td>{html.escape(label)}</td>{cells}</tr>")
    return f'<table class="grid"><tr><th></th>{head}</tr>{"".join(rows)}</table>'


def _frame_table(frame) -> str:
    head = "".join(f"<th>{html.escape(str(column))}</th>" for column in frame.columns)
    rows = []
    for record in frame.itertuples(index=False):
        cells = "".join(
            f"<td>{value:.3f}</td>" if isinstance(value, float) else f"<td>{html.escape(str(value))}</td>"
            for value in record
        )
        rows.append(f"<tr>{cells}</tr>")
    return f'<table class="grid"><tr>{head}</tr>{"".join(rows)}</table>'


def to_html(report: Report) -> bytes:
    """The report as UTF-8 HTML that renders offline: everything it shows is inside the file."""
    maps = "".join(_map_card(entry) for entry in report.maps)
    unavailable = "".join(
        f"<p><strong>{html.escape(label)}</strong> not shown: {html.escape(why)}</p>"
        for label, why in report.unavailable
    )
    sections = [
        f"<h1>{html.escape(report.title)}</h1>",
        f'<p class="muted">{html.escape(report.model.label)} · made {report.created:%Y-%m-%d %H:%M} UTC · '
        f"{html.escape(report.software)}</p>",
        _model_section(report),
        _case_section(report),
        "<h2>Attribution maps</h2>",
        f'<p class="muted">{html.escape(report.display_text)}</p>',
        unavailable,
        f'<div class="maps">{maps}</div>',
    ]
    if report.agreement is not None:
        sections += [
            "<h2>Agreement between methods</h2>",
            f'<p class="muted">Spearman rank correlation of |map|. {html.escape(metrics.AGREEMENT.reading)}</p>',
            _agreement_table(*report.agreement),
        ]
    if report.faithfulness is not None:
        sections += [
            "<h2>Faithfulness</h2>",
            f'<p class="muted">{html.escape(FAITHFULNESS_READING)}</p>',
            _frame_table(report.faithfulness),
        ]
    sections.append(
        f'<p class="muted" style="margin-top:32px">Made with {html.escape(report.software)} on '
        f"{report.created:%Y-%m-%d %H:%M} UTC. Attribution maps are hypotheses about the model, not proof: read "
        "each with its “can mislead” note and its trust checks.</p>"
    )
    document = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src data:; '
        "style-src 'unsafe-inline'\">"
        f"<title>{html.escape(report.title)}</title><style>{_STYLE}</style></head>"
        f"<body><main>{''.join(sections)}</main></body></html>"
    )
    return document.encode("utf-8")
