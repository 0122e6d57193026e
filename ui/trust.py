"""How far to trust each map on the Compare page: reproducibility, faithfulness, the randomisation
check and agreement between methods, each measured on this image and model when asked.

Results live in the session's ``trust`` cache, keyed by the map they measure, so nothing is recomputed
when the page reruns, and a display change redraws them at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import altair as alt
import keras
import numpy as np
import pandas as pd
import streamlit as st

import explainers
import imaging
import metrics
from ui.cache import session_cache
from ui.places import Place

_CURVE_COLOURS = {"deletion": "#d62728", "insertion": "#1f77b4"}


@dataclass(frozen=True)
class ShownMap:
    """One map on the page and the key its result is cached under."""

    key: tuple
    explanation: explainers.Explanation


@dataclass(frozen=True)
class Subject:
    """What every check measures against: this model, this image, this class."""

    model: keras.Model
    model_name: str
    inputs: np.ndarray
    image_key: str
    target: int
    black: np.ndarray
    seed: int


@dataclass
class Measured:
    """What has been measured so far for the shown maps (read from the session cache)."""

    faithfulness: dict[str, metrics.Curves]
    chance: metrics.Curves | None
    randomization: dict[str, metrics.RandomizationResult]


def _faithfulness_key(shown: ShownMap, subject: Subject) -> tuple:
    return (shown.key, subject.seed, "deletion_insertion")


def _chance_key(subject: Subject) -> tuple:
    return (subject.image_key, subject.model_name, subject.target, subject.seed, "random_order")


def _randomization_key(shown: ShownMap, subject: Subject) -> tuple:
    return (shown.key, subject.seed, "randomization")


def _measured(maps: dict[str, ShownMap], subject: Subject) -> Measured:
    cache = session_cache("trust")
    faithfulness = {m: cache.get(_faithfulness_key(s, subject)) for m, s in maps.items()}
    randomization = {m: cache.get(_randomization_key(s, subject)) for m, s in maps.items()}
    return Measured(
        {m: c for m, c in faithfulness.items() if c is not None},
        cache.get(_chance_key(subject)),
        {m: r for m, r in randomization.items() if r is not None},
    )


# -- computing, on request -------------------------------------------------------------------------


def _measure_faithfulness(maps: dict[str, ShownMap], subject: Subject, measured: Measured) -> None:
    cache = session_cache("trust")
    todo = [m for m in maps if m not in measured.faithfulness]
    jobs = len(todo) + (measured.chance is None)
    bar = st.progress(0.0, text="Deleting and inserting pixels…")

    def reporter(number: int, label: str) -> Callable[[int, int], None]:
        return lambda done, total: bar.progress(
            min((number + done / total) / jobs, 1.0), text=f"{label}: {done}/{total} images"
        )

    common = {"seed": subject.seed}
    if measured.chance is None:
        measured.chance = metrics.random_curves(
            subject.model, subject.inputs, subject.target, subject.black, progress=reporter(0, "Random order"), **common
        )
        cache.put(_chance_key(subject), measured.chance)
    for number, method in enumerate(todo, start=jobs - len(todo)):
        shown = maps[method]
        curves = metrics.curves(
            subject.model,
            subject.inputs,
            shown.explanation.attribution,
            subject.target,
            subject.black,
            progress=reporter(number, explainers.METHODS[method].label),
            **common,
        )
        cache.put(_faithfulness_key(shown, subject), curves)
        measured.faithfulness[method] = curves
    bar.empty()


def _run_randomization(maps: dict[str, ShownMap], subject: Subject, measured: Measured) -> None:
    cache = session_cache("trust")
    todo = [m for m in maps if m not in measured.randomization]
    bar = st.progress(0.0, text="Randomising a copy of the model…")
    for number, method in enumerate(todo):
        shown = maps[method]
        label = explainers.METHODS[method].label

        def report(done: int, total: int, number=number, label=label) -> None:
            bar.progress(min((number + done / total) / len(todo), 1.0), text=f"{label}: stage {done}/{total}")

        result = metrics.randomization_check(
            subject.model, subject.inputs, shown.explanation, baseline=subject.black, seed=subject.seed, progress=report
        )
        cache.put(_randomization_key(shown, subject), result)
        measured.randomization[method] = result
    bar.empty()


# -- charts ------------------------------------------------------------------------------------------


def curves_chart(curves: metrics.Curves, chance: metrics.Curves | None) -> alt.Chart:
    """Deletion (red) and insertion (blue) of one map, solid, beside a random order's, dashed."""
    rows = []
    for order, measured_curves in (("this map", curves), ("random", chance)):
        if measured_curves is None:
            continue
        for curve in ("deletion", "insertion"):
            rows += [
                {"fraction": float(x), "value": float(y), "line": f"{curve}, {order}", "curve": curve, "order": order}
                for x, y in zip(measured_curves.fractions, getattr(measured_curves, curve), strict=True)
            ]
    lines = [f"{curve}, {order}" for curve in ("deletion", "insertion") for order in ("this map", "random")]
    return (
        alt.Chart(pd.DataFrame(rows))
        .mark_line()
        .encode(
            x=alt.X("fraction:Q", title="pixels removed / restored", axis=alt.Axis(format="%", tickCount=4)),
            y=alt.Y("value:Q", title="probability" if curves.value_kind == "probability" else "score"),
            color=alt.Color(
                "line:N",
                scale=alt.Scale(domain=lines, range=[_CURVE_COLOURS[line.split(",")[0]] for line in lines]),
                legend=None,  # a narrow column has no room for it: the caption under the chart says what is what
            ),
            strokeDash=alt.StrokeDash("line:N", scale=alt.Scale(domain=lines, range=[[1, 0], [4, 3]] * 2), legend=None),
            tooltip=["line", alt.Tooltip("fraction:Q", format=".1%"), alt.Tooltip("value:Q", format=".3f")],
        )
        .properties(height=170)
    )


def agreement_chart(labels: list[str], matrix: np.ndarray) -> alt.Chart:
    frame = pd.DataFrame(
        [
            {"first": labels[i], "second": labels[j], "rho": float(matrix[i, j])}
            for i in range(len(labels))
            for j in range(len(labels))
        ]
    )
    base = alt.Chart(frame).encode(
        x=alt.X("first:N", sort=labels, title=None, axis=alt.Axis(labelAngle=-30)),
        y=alt.Y("second:N", sort=labels, title=None),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("rho:Q", scale=alt.Scale(scheme="redblue", domain=[-1, 1], reverse=True), title="Spearman ρ"),
        tooltip=["first", "second", alt.Tooltip("rho:Q", format=".2f")],
    )
    text = base.mark_text(fontSize=12).encode(
        text=alt.Text("rho:Q", format=".2f"),
        color=alt.condition("abs(datum.rho) > 0.6", alt.value("white"), alt.value("black")),
    )
    return (cells + text).properties(height=60 + 40 * len(labels), title="Agreement: rank correlation of |map|")


def randomization_chart(results: dict[str, metrics.RandomizationResult]) -> alt.Chart:
    rows = [
        {
            "stage": number,
            "randomised": stage,
            "method": explainers.METHODS[method].label,
            "measure": measure,
            "value": v,
        }
        for method, result in results.items()
        for measure, values in (("Spearman |map|", result.spearman), ("SSIM", result.ssim))
        for number, (stage, v) in enumerate(zip(result.stages, values, strict=True))
    ]
    lines = (
        alt.Chart(pd.DataFrame(rows))
        .mark_line(strokeWidth=2)
        .encode(
            x=alt.X("stage:O", title="stage (0 = trained model; then blocks randomised from the top)"),
            y=alt.Y("value:Q", title="similarity to the original map", scale=alt.Scale(domain=[-1, 1])),
            color=alt.Color("method:N", title=None),
            strokeDash=alt.StrokeDash(
                "measure:N", title=None, scale=alt.Scale(domain=["Spearman |map|", "SSIM"], range=[[1, 0], [5, 3]])
            ),
            tooltip=["method", "measure", "randomised", alt.Tooltip("value:Q", format=".2f")],
        )
    )
    line = alt.Chart(
        pd.DataFrame({"y": [metrics.PASS_BELOW], "text": [f"pass line: mean Spearman below {metrics.PASS_BELOW}"]})
    )
    rule = line.mark_rule(strokeDash=[2, 2], color="gray").encode(y="y:Q")
    label = line.mark_text(align="left", dx=4, dy=-6, color="gray").encode(y="y:Q", x=alt.value(0), text="text:N")
    return (lines + rule + label).properties(height=260)


# -- reading -----------------------------------------------------------------------------------------


def map_trust_ui(place: Place, shown: ShownMap, measured: Measured) -> None:
    """The expander under one map: everything measured about it, in one place."""
    method = shown.explanation.method
    with place.area(), st.expander("How far to trust this map", icon=":material/verified:"):
        st.markdown(metrics.reproducibility_text(shown.explanation))
        curves = measured.faithfulness.get(method)
        if curves is None:
            st.caption("Faithfulness not measured yet: **Measure faithfulness** below.")
        else:
            st.markdown(metrics.faithfulness_text(curves, measured.chance))
            st.altair_chart(curves_chart(curves, measured.chance), width="stretch")
            st.caption("Red: deletion; blue: insertion. Solid: this map; dashed: a random order.")
        st.markdown(metrics.randomization_text(measured.randomization.get(method), shown.explanation.info))


@dataclass(frozen=True)
class Thumbnails:
    """How the stage thumbnails are drawn: over the image as the model sees it, as the maps are shown."""

    image: np.ndarray
    display: imaging.Display


def stage_gallery_ui(result: metrics.RandomizationResult, thumbnails: Thumbnails) -> None:
    info = explainers.METHODS[result.method]
    verdict = {True: "passed", False: "failed", None: "not applicable (constant map)"}[result.passed]
    st.markdown(f"**{info.label}** — {verdict}, mean similarity {result.mean_similarity:.2f}")
    columns = st.columns(len(result.maps))
    for column, stage, attribution, rho in zip(columns, result.stages, result.maps, result.spearman, strict=True):
        column.image(
            imaging.overlay_png(thumbnails.image, attribution, info.signed, thumbnails.display),
            caption=f"{stage} · ρ {rho:.2f}",
            width="stretch",
            output_format="PNG",
        )


def trust_ui(subject: Subject, maps: dict[str, ShownMap], places: dict[str, Place], thumbnails: Thumbnails) -> Measured:
    """The Trust section under the maps, and each map's own trust expander (in ``places[method]``); returns what
    has been measured."""
    st.subheader("How far to trust each map", anchor="trust")
    st.caption(
        "Each check is measured on this image, this class and this model, when you ask; results stay for the session."
    )
    measured = _measured(maps, subject)
    missing_faithfulness = [m for m in maps if m not in measured.faithfulness]
    missing_randomization = [m for m in maps if m not in measured.randomization]
    left, right = st.columns(2)
    faithfulness_passes = metrics.STEPS * 2 + 1
    if left.button(
        "Measure faithfulness",
        icon=":material/insights:",
        disabled=not missing_faithfulness,
        help=f"Deletion and insertion curves: {faithfulness_passes} forward passes per map, plus a random order once.",
    ):
        _measure_faithfulness(maps, subject, measured)
        st.rerun()  # redraw the buttons and every map's trust with what is now measured
    # Each stage costs about what the map itself cost.
    stages = metrics.stage_count(subject.model)
    stage_total = stages * sum(maps[m].explanation.passes for m in missing_randomization)
    if right.button(
        "Run the randomisation check",
        icon=":material/shuffle:",
        disabled=not missing_randomization,
        help=f"Explains again on a copy of the model whose weights are randomised from the top block down, "
        f"{stages} stages: about {stage_total} model passes for the maps not checked yet.",
    ):
        _run_randomization(maps, subject, measured)
        st.rerun()

    for method, shown in maps.items():
        map_trust_ui(places[method], shown, measured)

    if len(maps) > 1:
        # Drawn on every rerun (a display change too): the checked chart spec is kept, as Altair's schema check
        # alone costs 30-50 ms.
        spec = session_cache("charts").get_or_compute(
            ("agreement chart", *(shown.key for shown in maps.values())),
            lambda: agreement_chart(
                [explainers.METHODS[m].label for m in maps],
                metrics.agreement({m: shown.explanation.attribution for m, shown in maps.items()}),
            ).to_dict(),
        )
        st.vega_lite_chart(spec, width="stretch")
        st.caption(
            "How to read it: 1 means two methods rank the pixels in the same order, 0 unrelated. High agreement "
            "is reassuring but not proof: methods built on the same gradient share its blind spots."
        )
    if measured.faithfulness:
        st.markdown(
            "**Faithfulness** (Petsiuk et al., 2018): " + metrics.DELETION.reading + " " + metrics.INSERTION.reading
        )
        st.dataframe(
            metrics.faithfulness_table(measured.faithfulness, measured.chance), hide_index=True, width="stretch"
        )
        st.caption(
            "Random deletion is a hard baseline: blacking out random pixels destroys the class almost as fast as "
            "any map, so a deletion AUC near the random order's says little. Insertion separates the methods "
            "better. Read both curves rather than crowning a winner from one, and remember that blacked-out and "
            "blurred images are unlike real ones."
        )
    if measured.randomization:
        st.markdown("**Model-randomisation check** (Adebayo et al., 2018): " + metrics.RANDOMIZATION.reading)
        st.altair_chart(randomization_chart(measured.randomization), width="stretch")
        for result in measured.randomization.values():
            stage_gallery_ui(result, thumbnails)
    return measured
