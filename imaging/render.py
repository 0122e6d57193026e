"""Turn an attribution map into pictures: normalised values, colour overlays, a figure with a colour bar.

Unsigned maps go on a perceptually uniform colormap from 0; signed maps go on a diverging colormap
centred at zero, so red is evidence for the class and blue against it.

The overlay the app shows on every redraw is a lookup in a 256-entry colour table and one blend (about a
millisecond at 224x224); the Matplotlib figure with its colour bar and caption is drawn only for a download.
"""

from __future__ import annotations

import html
import io
import textwrap
from dataclasses import dataclass
from functools import cache

import cv2
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
    attribution: np.ndarray,
    signed: bool,
    normalisation: str = "percentile",
    percentile: float = 99.0,
    scale: float | None = None,
) -> np.ndarray:
    """Map values into [0, 1] (unsigned) or [-1, 1] (signed), clipping beyond the display scale (or ``scale``, one
    shared by several maps)."""
    scaled = attribution / (display_scale(attribution, normalisation, percentile) if scale is None else scale)
    return np.clip(scaled, -1.0 if signed else 0.0, 1.0).astype(np.float32)


def _colormap(signed: bool, colormap: str):
    return plt.get_cmap(DIVERGING_COLORMAP if signed else colormap)


_LEVELS = 256


@cache
def colour_table(signed: bool, colormap: str = COLORMAPS[0]) -> np.ndarray:
    """The colormap's 256 levels, float32 (256, 3) on 0..255 (level 0 is -1 signed, 0 unsigned)."""
    table = _colormap(signed, colormap)(np.arange(_LEVELS))[:, :3] * 255.0
    table = table.astype(np.float32)
    table.flags.writeable = False
    return table


def overlay_rgb(
    image: np.ndarray, normalised: np.ndarray, signed: bool, colormap: str = COLORMAPS[0], opacity: float = 0.5
) -> np.ndarray:
    """Blend the coloured map over ``image`` (float 0..255 RGB); returns uint8 RGB."""
    unit = (normalised + 1.0) / 2.0 if signed else normalised
    # Binned as Matplotlib bins a float into its colormap's 256 levels, so the colours are the colormap's own.
    levels = np.clip(np.floor(np.asarray(unit, np.float32) * _LEVELS), 0, _LEVELS - 1).astype(np.intp)
    colours = colour_table(signed, colormap)[levels]
    blended = (1.0 - opacity) * np.asarray(image, np.float32) + opacity * colours
    return to_uint8(blended)


def map_overlay(
    image: np.ndarray,
    attribution: np.ndarray,
    *,
    signed: bool,
    colormap: str = COLORMAPS[0],
    opacity: float = 0.5,
    normalisation: str = "percentile",
    percentile: float = 99.0,
    scale: float | None = None,
) -> np.ndarray:
    """``attribution`` on its display scale (or ``scale``), coloured and blended over ``image``: uint8 RGB."""
    normalised = normalise(attribution, signed, normalisation, percentile, scale)
    return overlay_rgb(image, normalised, signed, colormap, opacity)


def outlined(rgb: np.ndarray, segments: np.ndarray, colour: tuple[int, int, int] = (255, 255, 255)) -> np.ndarray:
    """``rgb`` with the borders between ``segments`` (an (H, W) label image) drawn one pixel wide."""
    from skimage.segmentation import find_boundaries

    drawn = rgb.copy()
    drawn[find_boundaries(segments, mode="inner")] = colour
    return drawn


def resized_tile(values: np.ndarray, size: int) -> np.ndarray:
    """An (h, w[, 3]) array scaled so its longer side is ``size`` pixels: blocks of one value when enlarged (a
    channel's cells stay visible as cells), area averages when reduced."""
    height, width = values.shape[:2]
    scale = size / max(height, width)
    shape = (max(1, round(width * scale)), max(1, round(height * scale)))
    method = cv2.INTER_NEAREST if scale >= 1 else cv2.INTER_AREA
    return cv2.resize(np.ascontiguousarray(values, np.float32), shape, interpolation=method)


def channel_tiles(maps: np.ndarray, colormap: str = COLORMAPS[0], joint: bool = False, size: int = 96) -> list:
    """Each (h, w) map of ``maps`` (N, h, w) as a uint8 RGB tile ``size`` pixels across.

    Maps with no negative value go on ``colormap`` from 0 to the maximum; maps with negative values (a layer
    before its activation) on the diverging colormap centred at 0. Each tile is scaled to its own largest
    magnitude, or, ``joint``, all to the largest of them, so that tiles compare."""
    signed = bool((maps < 0).any())
    magnitudes = np.abs(maps).reshape(len(maps), -1).max(axis=1) if len(maps) else np.zeros(0)
    scales = np.full_like(magnitudes, magnitudes.max(initial=0.0)) if joint else magnitudes
    tiles = []
    for values, scale in zip(maps, scales, strict=True):
        normalised = np.clip(values / scale, -1.0, 1.0) if scale > 0 else np.zeros_like(values)
        unit = (normalised + 1.0) / 2.0 if signed else normalised
        levels = np.clip(np.floor(resized_tile(unit, size) * _LEVELS), 0, _LEVELS - 1).astype(np.intp)
        tiles.append(colour_table(signed, colormap)[levels].astype(np.uint8))
    return tiles


@dataclass(frozen=True)
class Display:
    """How maps are drawn: the same for every map on a page, its trust thumbnails and its report."""

    colormap: str = COLORMAPS[0]
    opacity: float = 0.5
    normalisation: str = "percentile"
    outlines: bool = True
    """Draw the superpixels of the methods that work on them (LIME, Kernel SHAP)."""


def overlay_png(
    image: np.ndarray,
    attribution: np.ndarray,
    signed: bool,
    display: Display,
    segments: np.ndarray | None = None,
    scale: float | None = None,
) -> bytes:
    """The map over the image as ``display`` says (on ``scale`` when given), with superpixel outlines where it has
    segments, as PNG."""
    rgb = map_overlay(
        image,
        attribution,
        signed=signed,
        colormap=display.colormap,
        opacity=display.opacity,
        normalisation=display.normalisation,
        scale=scale,
    )
    if display.outlines and segments is not None:
        rgb = outlined(rgb, segments)
    return png_bytes(rgb)


def to_uint8(pixels: np.ndarray) -> np.ndarray:
    """Float pixel values on 0..255 as uint8: rounded to the nearest level, anything outside clipped."""
    return np.clip(np.rint(pixels), 0, 255).astype(np.uint8)


def png_bytes(rgb: np.ndarray) -> bytes:
    """Encode uint8 RGB (H, W, 3), or gray (H, W), as PNG, at fast compression: pictures are redrawn on every
    display change."""
    pixels = rgb if rgb.ndim == 2 else rgb[..., ::-1]  # OpenCV writes BGR
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(pixels), [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise ValueError("the picture could not be encoded as PNG")
    return encoded.tobytes()


def scale_label(signed: bool) -> str:
    """What a map's colour scale reads, under its colour bar."""
    return "evidence against  ←  0  →  for" if signed else "attribution (0 = none)"


@dataclass(frozen=True)
class ColourBar:
    """What a legend needs to draw a map's colour scale: colours from the low to the high end, and values."""

    colours: tuple[str, ...]
    """Hex colours evenly spaced from the low end to the high end."""
    low: float
    high: float
    signed: bool

    @property
    def label(self) -> str:
        return scale_label(self.signed)


def colour_bar(
    attribution: np.ndarray,
    signed: bool,
    colormap: str = COLORMAPS[0],
    normalisation: str = "percentile",
    percentile: float = 99.0,
    stops: int = 11,
    scale: float | None = None,
) -> ColourBar:
    """The colour scale an overlay of ``attribution`` is drawn with (on ``scale`` when given), in the map's units."""
    scale = display_scale(attribution, normalisation, percentile) if scale is None else scale
    table = colour_table(signed, colormap)
    picks = np.rint(np.linspace(0, _LEVELS - 1, stops)).astype(int)
    colours = tuple("#{:02x}{:02x}{:02x}".format(*np.rint(table[i]).astype(int)) for i in picks)
    return ColourBar(colours, -scale if signed else 0.0, scale, signed)


def scale_number(value: float) -> str:
    """A colour bar's tick: two significant digits, a true minus sign."""
    return "0" if value == 0 else f"{value:.2g}".replace("-", "−")


def colour_bar_html(bar: ColourBar) -> str:
    """The colour scale as a CSS gradient with its three values and label: no picture, no script (the page and the
    HTML report draw it alike)."""
    middle = 0.0 if bar.signed else bar.high / 2
    ticks = "".join(f"<span>{scale_number(v)}</span>" for v in (bar.low, middle, bar.high))
    return (
        '<div style="margin:-0.6rem 0 0.3rem 0" role="img" '
        f'aria-label="colour scale from {scale_number(bar.low)} to {scale_number(bar.high)}">'
        f'<div style="height:0.6rem;border-radius:2px;background:linear-gradient(to right,{",".join(bar.colours)})">'
        "</div>"
        f'<div style="display:flex;justify-content:space-between;font-size:0.72rem;opacity:0.75">{ticks}</div>'
        f'<div style="text-align:center;font-size:0.72rem;opacity:0.75">{html.escape(bar.label)}</div>'
        "</div>"
    )


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
    picture = map_overlay(
        image,
        attribution,
        signed=signed,
        colormap=colormap,
        opacity=opacity,
        normalisation=normalisation,
        percentile=percentile,
    )
    figure = plt.figure(figsize=(3.6, 4.4), dpi=dpi)
    try:
        axis = figure.add_axes((0.03, 0.27, 0.94, 0.64))
        axis.imshow(picture)
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
        bar.set_label(scale_label(signed), fontsize=7)
        if caption:
            figure.text(0.5, 0.05, "\n".join(textwrap.wrap(caption, 62)), ha="center", va="center", fontsize=7)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(figure)
