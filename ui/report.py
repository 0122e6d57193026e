"""The Compare page's "take it away" row: the view as a report (HTML or PDF) and the raw maps, each built in
memory when its button is clicked — nothing is written to disk."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from functools import partial

import numpy as np
import streamlit as st

import explainers
import imaging
import reports
from ui.prediction import Case
from ui.trust import Measured


@dataclass(frozen=True)
class ShownView:
    """What the Compare page shows now: the case, the class, its maps, the display and what trust was measured."""

    case: Case
    target: int
    explanations: dict[str, explainers.Explanation]
    unavailable: dict[str, str]
    display: imaging.Display
    measured: Measured


def _report(view: ShownView, format: str) -> bytes:
    case, measured, chosen = view.case, view.measured, view.case.chosen
    report = reports.compose(
        model=reports.ModelFacts.of(chosen.source, case.prediction.kind, chosen.layer, chosen.preset_guess),
        image=reports.ImageFacts.of(case.picked.loaded, case.picked.title, case.window, case.image),
        prediction=case.prediction,
        target=view.target,
        explanations=list(view.explanations.values()),
        display=view.display,
        faithfulness=measured.faithfulness,
        chance=measured.chance,
        randomization=measured.randomization,
        unavailable=view.unavailable,
    )
    return reports.render(report, format)


def _npz(explanations: dict[str, explainers.Explanation]) -> bytes:
    buffer = io.BytesIO()
    arrays = {method: e.attribution for method, e in explanations.items()}
    arrays |= {f"{method}_segments": e.segments for method, e in explanations.items() if e.segments is not None}
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def take_away_ui(view: ShownView) -> None:
    """Download buttons for the report of this view (as shown now: maps, display and trust measured so far) and
    the raw maps."""
    st.subheader("Take it away", anchor="take-away")
    st.caption(
        "The report holds the image as the model saw it, the model, the predictions, every map with its colour "
        "bar, caption and limits, and the trust checks measured so far. The HTML file opens offline; the PDF is A4. "
        "Both are built in memory when you click. Patient attributes of a DICOM file never reach either. The raw "
        "maps are one float32 array per method at the model's input size."
    )
    explanations = view.explanations
    name = re.sub(r"[^A-Za-z0-9]+", "-", view.case.prediction.names[view.target]).strip("-").lower() or "class"
    columns = st.columns(3)
    for column, (format, (mime, _)) in zip(columns, reports.FORMATS.items(), strict=False):
        column.download_button(
            f"Download report ({format.upper()})",
            partial(_report, view, format),
            file_name=f"explanation-report-{name}.{format}",
            mime=mime,
            key=f"download_report_{format}",
            icon=":material/description:",
            on_click="ignore",
            disabled=not explanations,
        )
    columns[2].download_button(
        "Download raw maps (.npz)",
        partial(_npz, explanations),
        file_name=f"maps-{view.target}.npz",
        mime="application/octet-stream",
        key="download_npz",
        icon=":material/download:",
        on_click="ignore",
    )
