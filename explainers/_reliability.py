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
from collections.abc import Callable

import numpy as np

DEFAULT_RELIABILITY_TARGET = 0.9
# The prophecy is itself an estimate: ask for a little more than it says, to save a round.
_ROUND_MARGIN = 1.1


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


def sample_in_rounds(
    initial: int,
    cap: int,
    target: float | None,
    draw: Callable[[int, int], None],
    half_maps: Callable[[], tuple[np.ndarray, np.ndarray] | None],
) -> tuple[int, float | None]:
    """Draw samples in rounds until the map's split-half reliability reaches ``target`` or ``cap`` samples.

    ``draw(drawn, planned)`` draws samples ``drawn`` to ``planned`` and deals them into the two halves (see
    :func:`first_half_count`); ``half_maps()`` returns the two halves' maps, or None while a half is empty.
    Each round is sized by the Spearman-Brown prophecy from the reliability measured so far. With ``target``
    None, exactly ``initial`` samples are drawn. Returns the samples drawn and the last reliability.
    """
    if target is not None and not 0 < target < 1:
        raise ValueError("reliability_target must be between 0 and 1 (or None for a fixed sample count)")
    cap = initial if target is None else max(initial, cap)
    planned, drawn, reliability = initial, 0, None
    while True:
        draw(drawn, planned)
        drawn = planned
        maps = half_maps()
        if maps is not None:
            reliability = split_half_reliability(*maps)
        if target is None or reliability is None or reliability >= target or drawn >= cap:
            return drawn, reliability
        wanted = math.ceil(_ROUND_MARGIN * samples_for_reliability(drawn, reliability, target))
        planned = min(cap, max(wanted, drawn + 2))


def first_half_count(count: int, first_half: int, second_half: int) -> int:
    """How many of a round's ``count`` samples join the first half (the smaller half gets an odd one out).

    A round's first samples go to one half and the rest to the other: which half a sample joins never depends
    on its value, and each half stays contiguous in the round."""
    return (count + (first_half <= second_half)) // 2
