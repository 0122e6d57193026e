"""Map stored intensities (8-bit, 16-bit, float) onto the 0..255 scale models and displays expect.

A 16-bit scan keeps every stored value until a window is chosen: the window's ``low`` maps to 0 and
``high`` to 255, linearly, as float32, so that levels 8-bit quantisation would merge stay distinct.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_PERCENTILES = (0.5, 99.5)


@dataclass(frozen=True)
class Window:
    """Stored values ``low``..``high`` are shown as 0..255; values outside are clipped."""

    low: float
    high: float
    curve: tuple[tuple[float, ...], tuple[float, ...]] | None = None
    """A non-linear window (a DICOM file's VOI LUT): stored values ``curve[0]`` (increasing, ``low`` to ``high``)
    shown at ``curve[1]`` (0..1 of the output), linear in between; None for the straight window."""

    def __post_init__(self) -> None:
        if not (np.isfinite(self.low) and np.isfinite(self.high)) or self.high <= self.low:
            raise ValueError(f"a window needs low < high, got {self.low:g}..{self.high:g}")

    @classmethod
    def from_level(cls, level: float, width: float) -> Window:
        """Radiology's window/level: ``level`` is the centre, ``width`` the span of shown values."""
        return cls(level - width / 2, level + width / 2)

    @property
    def level(self) -> float:
        return (self.low + self.high) / 2

    @property
    def width(self) -> float:
        return self.high - self.low


def full_range(values: np.ndarray) -> Window:
    """The window from the image's darkest to its brightest value."""
    low, high = float(values.min()), float(values.max())
    # A flat image still needs a window; at 1e16, low + 1 == low, hence the relative step.
    return Window(low, high) if high > low else Window(low, low + max(1.0, abs(low)))


def percentile_window(values: np.ndarray, percentiles: tuple[float, float] = DEFAULT_PERCENTILES) -> Window:
    """Clip the darkest and brightest ``percentiles`` of pixels, so a few hot pixels cannot flatten the rest."""
    low, high = (float(v) for v in np.percentile(values, percentiles))
    return Window(low, high) if high > low else full_range(values)


def apply_window(values: np.ndarray, window: Window) -> np.ndarray:
    """Stored values (H, W, C) -> float32 RGB (H, W, 3) on 0..255; single channels are repeated."""
    if window.curve is not None:
        inputs, outputs = window.curve
        scaled = np.interp(np.asarray(values, np.float64), inputs, outputs).astype(np.float32) * np.float32(255.0)
        return np.repeat(scaled, 3, axis=-1) if scaled.shape[-1] == 1 else scaled
    low, high = np.float32(window.low), np.float32(window.high)
    # Clipping first keeps float images with extreme values from overflowing into inf - inf = NaN.
    shifted = np.clip(np.asarray(values, np.float32), low, high) - low
    scale, width = 255.0 / window.width, np.float32(window.width)
    if scale <= float(np.finfo(np.float32).max):  # compared as Python floats: no float32 cast to overflow
        scaled = shifted * np.float32(scale)
    elif width > 0:  # a denormal width (values 0 and 1e-45): 255 / width overflows, so divide by it instead
        scaled = shifted / width * np.float32(255.0)
    else:  # narrower than float32 can hold: low and high are one value, so nothing is above the window's floor
        scaled = np.zeros_like(shifted)
    scaled = np.clip(scaled, 0.0, 255.0)
    return np.repeat(scaled, 3, axis=-1) if scaled.shape[-1] == 1 else scaled
