"""An attribution map as the pages draw it: the overlay, a colour bar in the map's own units, a caption.

The overlay is a small PNG blended with a colour table (no Matplotlib on the way), and the colour bar is a
CSS gradient with the scale's values, so a display change redraws every map in milliseconds.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
import streamlit as st

import imaging


@dataclass(frozen=True)
class Display:
    """How maps are drawn: the same for every map on the page, and for the trust section's thumbnails."""

    colormap: str = imaging.COLORMAPS[0]
    opacity: float = 0.5
    normalisation: str = "percentile"
    outlines: bool = True
    """Draw the superpixels of the methods that work on them (LIME, Kernel SHAP)."""


def overlay_png(
    image: np.ndarray, attribution: np.ndarray, signed: bool, display: Display, segments: np.ndarray | None = None
) -> bytes:
    rgb = imaging.map_overlay(
        image,
        attribution,
        signed=signed,
        colormap=display.colormap,
        opacity=display.opacity,
        normalisation=display.normalisation,
    )
    if display.outlines and segments is not None:
        rgb = imaging.outlined(rgb, segments)
    return imaging.png_bytes(rgb)


def _number(value: float) -> str:
    return "0" if value == 0 else f"{value:.2g}".replace("-", "−")


def colour_bar_html(bar: imaging.ColourBar) -> str:
    middle = 0.0 if bar.signed else bar.high / 2
    ticks = "".join(f"<span>{_number(v)}</span>" for v in (bar.low, middle, bar.high))
    return (
        '<div style="margin:-0.6rem 0 0.3rem 0" role="img" '
        f'aria-label="colour scale from {_number(bar.low)} to {_number(bar.high)}">'
        f'<div style="height:0.6rem;border-radius:2px;background:linear-gradient(to right,{",".join(bar.colours)})">'
        "</div>"
        f'<div style="display:flex;justify-content:space-between;font-size:0.72rem;opacity:0.75">{ticks}</div>'
        f'<div style="text-align:center;font-size:0.72rem;opacity:0.75">{html.escape(bar.label)}</div>'
        "</div>"
    )


def colour_bar_ui(attribution: np.ndarray, signed: bool, display: Display) -> None:
    """The map's colour scale: the colours of the overlay and the values they stand for."""
    bar = imaging.colour_bar(attribution, signed, display.colormap, display.normalisation)
    st.markdown(colour_bar_html(bar), unsafe_allow_html=True)
