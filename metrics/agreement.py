"""Agreement between methods: do two maps rank the same pixels first?

Pairwise Spearman rank correlation of |map| over pixels (as Adebayo et al., 2018, compare maps),
on the absolute value so that signed and unsigned maps compare fairly. Cheap: it reads maps that
are already there, no model pass.
"""

from __future__ import annotations

import numpy as np

from metrics._base import MetricInfo
from metrics.similarity import rank_correlations

AGREEMENT = MetricInfo(
    name="agreement",
    label="Agreement between methods",
    paper="Adebayo et al., 2018 (Spearman rank correlation of |map|)",
    better="higher",
    value_range=(-1.0, 1.0),
    cost="none: computed from the maps already shown",
    reading="Whether two methods put the same pixels first (1 = the same order, 0 = unrelated); "
    "agreement is not proof, since two methods can share the same blind spot.",
)


def agreement(maps: dict[str, np.ndarray]) -> np.ndarray:
    """The (M, M) Spearman correlations of |map| between the given maps, in their order."""
    shapes = {np.shape(attribution) for attribution in maps.values()}
    if len(shapes) > 1:
        raise ValueError(f"maps of different sizes cannot be compared: {sorted(shapes)}")
    return rank_correlations(maps, absolute=True)
