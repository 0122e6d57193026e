"""The Altair charts of the Inside-the-network page: channel values, a dense layer's units, the gradient flow,
dead units, weight histograms, a kernel's spatial pattern and kernel norms. Pure builders: data in, chart out."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

import introspection
from introspection.activations import RANKINGS

TOP_UNITS = 30


def channel_values_chart(values: np.ndarray) -> alt.Chart:
    frame = pd.DataFrame({"activation": values.ravel().astype(np.float64)})
    return (
        alt.Chart(frame)
        .mark_bar(color="#4c78a8")
        .encode(
            x=alt.X("activation:Q", bin=alt.Bin(maxbins=40), title="activation"),
            y=alt.Y("count():Q", title="positions"),
            tooltip=[alt.Tooltip("count():Q", title="positions")],
        )
        .properties(height=220, title="This channel's values over the image")
    )


def units_chart(activity: introspection.LayerActivity, ranked: np.ndarray, by: str) -> alt.Chart:
    """A dense layer's strongest units: their value and, where the score depends on them, their contribution."""
    top = ranked[:TOP_UNITS]
    values = activity.contribution if by == "contribution" and activity.contribution is not None else None
    frame = pd.DataFrame(
        {
            "unit": [f"#{k}" for k in top],
            "value": (values if values is not None else activity.mean_activation)[top].astype(np.float64),
            "activation": activity.mean_activation[top].astype(np.float64),
        }
    )
    title = "contribution" if values is not None else "activation"
    return (
        alt.Chart(frame)
        .mark_bar(color="#4c78a8")
        .encode(
            x=alt.X("value:Q", title=title),
            y=alt.Y("unit:N", sort=None, title=None),
            tooltip=[
                "unit",
                alt.Tooltip("value:Q", format=".3g", title=title),
                alt.Tooltip("activation:Q", format=".3g"),
            ],
        )
        .properties(height=max(200, 16 * len(frame)), title=f"The {len(frame)} strongest units by {RANKINGS[by]}")
    )


def flow_frame(flow: tuple[introspection.LayerFlow, ...]) -> pd.DataFrame:
    rows = []
    for position, row in enumerate(flow):
        rows.append(
            {
                "position": position + 1,
                "layer": row.layer.path,
                "type": row.layer.class_name,
                "output": row.layer.shape_text,
                "block": row.layer.block,
                "gradient norm": row.gradient_norm,
                "activation RMS": row.activation_rms,
                "never active": row.dead_fraction,
            }
        )
    return pd.DataFrame(rows)


def flow_chart(frame: pd.DataFrame, measure: str, chosen: str, title: str) -> alt.LayerChart:
    shown = frame[frame[measure].notna() & (frame[measure] > 0)]
    x = alt.X(
        "position:Q",
        scale=alt.Scale(domain=[frame["position"].max() + 0.5, 0.5]),
        title="layer, from the output (left) back to the input (right)",
    )
    tooltip = [
        "layer",
        "type",
        "output",
        "block",
        alt.Tooltip(f"{measure}:Q", format=".3g"),
        alt.Tooltip("never active:Q", format=".0%"),
    ]
    y = alt.Y(f"{measure}:Q", scale=alt.Scale(type="log"), title=f"{measure} (log)")
    # The nearest point to the pointer, anywhere over the plot, shows its layer: points are too small to aim at.
    nearest = alt.selection_point(nearest=True, on="pointerover", fields=["position"], empty=False, clear="pointerout")
    line = alt.Chart(shown).mark_line(color="#4c78a8").encode(x=x, y=y)
    points = (
        alt.Chart(shown)
        .mark_circle(color="#4c78a8")
        .encode(x=x, y=y, size=alt.condition(nearest, alt.value(90), alt.value(16)), tooltip=tooltip)
        .add_params(nearest)
    )
    marker = alt.Chart(frame[frame["layer"] == chosen]).mark_rule(color="#e45756", strokeDash=[4, 3]).encode(x=x)
    return (line + points + marker).properties(height=230, title=title)


def dead_units_chart(frame: pd.DataFrame, chosen: str) -> alt.LayerChart:
    x = alt.X("position:Q", scale=alt.Scale(domain=[frame["position"].max() + 0.5, 0.5]), title=None)
    bars = (
        alt.Chart(frame)
        .mark_bar(color="#72b7b2")
        .encode(
            x=x,
            y=alt.Y("never active:Q", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1]), title="never active"),
            tooltip=["layer", "type", "output", alt.Tooltip("never active:Q", format=".0%")],
        )
    )
    marker = alt.Chart(frame[frame["layer"] == chosen]).mark_rule(color="#e45756", strokeDash=[4, 3]).encode(x=x)
    return (bars + marker).properties(
        height=120, title="Channels never above zero for this image (dead for it; most telling after a ReLU)"
    )


def histogram_chart(named_values: dict[str, np.ndarray], title: str) -> alt.FacetChart:
    """One histogram per array, side by side, each on its own value axis; binned here (a dense layer has a million
    weights, the browser gets 40 bars per array)."""
    rows = []
    for name, values in named_values.items():
        counts, edges = np.histogram(values.astype(np.float64).ravel(), bins=40)
        rows += [
            {"values": name, "start": low, "end": high, "count": int(count)}
            for low, high, count in zip(edges[:-1], edges[1:], counts, strict=True)
        ]
    bars = (
        alt.Chart()
        .mark_bar(color="#4c78a8")
        .encode(
            x=alt.X("start:Q", title="value"),
            x2="end:Q",
            y=alt.Y("count:Q", title="count"),
            y2=alt.datum(0),  # bars from zero: with x2 set, Vega-Lite would draw them as horizontal strips
            tooltip=["values", alt.Tooltip("start:Q", format=".3g"), alt.Tooltip("end:Q", format=".3g"), "count"],
        )
        .properties(width=260, height=180)
    )
    return (
        alt.layer(bars, data=pd.DataFrame(rows))
        .facet(column=alt.Column("values:N", title=None, sort=list(named_values)))
        .resolve_scale(x="independent", y="independent")
        .properties(title=title)
    )


def kernel_pattern_chart(pattern: np.ndarray) -> alt.Chart:
    rows, columns = np.indices(pattern.shape)
    frame = pd.DataFrame({"row": rows.ravel(), "column": columns.ravel(), "mean |weight|": pattern.ravel()})
    return (
        alt.Chart(frame)
        .mark_rect()
        .encode(
            x=alt.X("column:O", title=None),
            y=alt.Y("row:O", title=None),
            color=alt.Color("mean |weight|:Q", scale=alt.Scale(scheme="inferno")),
            tooltip=["row", "column", alt.Tooltip("mean |weight|:Q", format=".3g")],
        )
        .properties(width=180, height=180, title="Mean |weight| at each kernel position")
    )


def norms_chart(all_weights: list, chosen: str) -> alt.LayerChart:
    with_kernels = [w for w in all_weights if w.kernel_norm is not None]
    frame = pd.DataFrame(
        [
            {
                "position": position + 1,
                "layer": w.layer.path,
                "kind": introspection.weights.KINDS[w.kind],
                "kernel norm": w.kernel_norm,
                "bias norm": w.bias_norm,
            }
            for position, w in enumerate(with_kernels)
        ]
    )
    x = alt.X("position:Q", title="layer with a kernel, input (left) to output (right)")
    points = (
        alt.Chart(frame)
        .mark_circle(size=40)
        .encode(
            x=x,
            y=alt.Y("kernel norm:Q", scale=alt.Scale(type="log"), title="kernel L2 norm (log)"),
            color=alt.Color("kind:N", title=None, legend=alt.Legend(orient="top")),
            tooltip=[
                "layer",
                "kind",
                alt.Tooltip("kernel norm:Q", format=".3g"),
                alt.Tooltip("bias norm:Q", format=".3g"),
            ],
        )
    )
    marker = alt.Chart(frame[frame["layer"] == chosen]).mark_rule(color="#e45756", strokeDash=[4, 3]).encode(x=x)
    return (points + marker).properties(height=220, title="Kernel norm per layer")
