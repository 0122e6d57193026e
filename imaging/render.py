"""Turn an attribution map into pictures: normalised values, colour overlays, a figure with a colour bar.

Unsigned maps go on a perceptually uniform colormap from 0; signed maps go on a diverging colormap
centred at zero, so red is evidence for the class and blue against it.
"""

from __future__ import annotations

import io
import textwrap

import matplotlib

matplotlib.use("Agg")  # no display here or on a server

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FuncFormatter, MaxNLocator

COLORMAPS = ("inferno", "viridis", "magma", "cividis")
"""Perceptually uniform colormaps for unsigned maps; the first is the default."""
DIVERGING_COLORMAP = "RdBu_r"

NORMALISATIONS = {
    "percentile": "Clip at the 99th percentile (one outlier pixel cannot wash the map out)",
    "max": "Scale to the map's own maximum",
}


def display_scale(attribution: np.ndarray, normalisation: str = "percentile", percentile: float = 99.0) -> float:
    """The value mapped to full colour: the maximum magnitude, or a high percentile of it."""
    magnitude = np.abs(attribution)
    if normalisation == "max":
        scale = float(magnitude.max())
    elif normalisation == "percentile":
        scale = float(np.percentile(magnitude, percentile))
        scale = scale or float(magnitude.max())
    else:
        raise ValueError(f"unknown normalisation {normalisation!r}; choose from {', '.join(NORMALISATIONS)}")
    return scale if scale > 0 and np.isfinite(scale) else 1.0


def normalise(
    attribution: np.ndarray, signed: bool, normalisation: str = "percentile", percentile: float = 99.0
) -> np.ndarray:
    """Map values into [0, 1] (unsigned) or [-1, 1] (signed), clipping beyond the display scale."""
    scaled = attribution / display_scale(attribution, normalisation, percentile)
    return np.clip(scaled, -1.0 if signed else 0.0, 1.0).astype(np.float32)


def _colormap(signed: bool, colormap: str):
    return plt.get_cmap(DIVERGING_COLORMAP if signed else colormap)


def overlay_rgb(
    image: np.ndarray, normalised: np.ndarray, signed: bool, colormap: str = COLORMAPS[0], opacity: float = 0.5
) -> np.ndarray:
    """Blend the coloured map over ``image`` (float 0..255 RGB); returns uint8 RGB."""
    unit = (normalised + 1.0) / 2.0 if signed else normalised
    colours = _colormap(signed, colormap)(unit)[..., :3] * 255.0
    blended = (1.0 - opacity) * np.asarray(image, np.float32) + opacity * colours
    return np.clip(blended, 0, 255).round().astype(np.uint8)


def map_figure_png(
    image: np.ndarray,
    attribution: np.ndarray,
    *,
    signed: bool,
    title: str,
    caption: str = "",
    colormap: str = COLORMAPS[0],
    opacity: float = 0.5,
    normalisation: str = "percentile",
    percentile: float = 99.0,
    dpi: int = 120,
) -> bytes:
    """A self-contained PNG: the overlay, a colour bar in the map's own units, a title and a caption.

    The layout is fixed, so every method's figure has the same size and they line up side by side.
    """
    scale = display_scale(attribution, normalisation, percentile)
    normalised = normalise(attribution, signed, normalisation, percentile)
    figure = plt.figure(figsize=(3.6, 4.4), dpi=dpi)
    try:
        axis = figure.add_axes((0.03, 0.27, 0.94, 0.64))
        axis.imshow(overlay_rgb(image, normalised, signed, colormap, opacity))
        axis.set_axis_off()
        figure.text(0.5, 0.95, title, ha="center", va="center", fontsize=10)
        bar_axis = figure.add_axes((0.1, 0.2, 0.8, 0.03))
        mappable = plt.cm.ScalarMappable(
            norm=plt.Normalize(-scale if signed else 0.0, scale), cmap=_colormap(signed, colormap)
        )
        bar = figure.colorbar(mappable, cax=bar_axis, orientation="horizontal")
        bar.ax.xaxis.set_major_locator(MaxNLocator(5))
        bar.ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:.2g}"))
        bar.ax.tick_params(labelsize=7)
        bar.set_label("evidence against  ←  0  →  for" if signed else "attribution (0 = none)", fontsize=7)
        if caption:
            figure.text(0.5, 0.05, "\n".join(textwrap.wrap(caption, 62)), ha="center", va="center", fontsize=7)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(figure)
