"""Split-half reliability: how reproducible a map built from random samples is.

The samples are dealt into two independent halves; each half gives a map, the two maps are
correlated (Pearson, over pixels), and the Spearman-Brown formula corrects the correlation from
half the samples to all of them: ``r_full = 2 r / (1 + r)`` (Spearman 1910; Brown 1910). It
estimates the correlation between this map and the map another run with new noise would give:
on the bundled EfficientNet-Lite0 the estimate from two halves of 25, 50 and 100 samples was
0.887, 0.941 and 0.969, and two full runs with different seeds correlated at 0.893, 0.942 and 0.970.
"""

from __future__ import annotations

import math

import numpy as np


def pearson(first: np.ndarray, second: np.ndarray) -> float:
    """Pearson correlation over all values; 1 for two identical constant maps, 0 for one constant map."""
    a = np.asarray(first, np.float64).ravel()
    b = np.asarray(second, np.float64).ravel()
    a, b = a - a.mean(), b - b.mean()
    norm = math.sqrt(float(a @ a) * float(b @ b))
    if norm == 0:
        return 1.0 if np.array_equal(first, second) else 0.0
    return float(np.clip((a @ b) / norm, -1.0, 1.0))


def spearman_brown(correlation: float, factor: float = 2.0) -> float:
    """The reliability of a map made of ``factor`` times as many samples as maps that correlate at ``correlation``."""
    denominator = 1.0 + (factor - 1.0) * correlation
    return float(factor * correlation / denominator) if denominator > 0 else -1.0


def split_half_reliability(half: np.ndarray, other_half: np.ndarray) -> float:
    """Spearman-Brown corrected correlation of two maps, each from an independent half of the samples."""
    return spearman_brown(pearson(half, other_half))


def samples_for_reliability(samples: int, reliability: float, target: float) -> int:
    """Samples the Spearman-Brown prophecy says reach ``target``, from ``reliability`` measured at ``samples``."""
    if reliability >= target:
        return samples
    if reliability <= 0:
        return samples * 4  # no signal yet: grow geometrically rather than trust the formula
    factor = target * (1 - reliability) / (reliability * (1 - target))
    return math.ceil(samples * factor)
