"""Split-half reliability of stochastic maps (Spearman 1910; Brown 1910).

The samples of a stochastic method (SmoothGrad, SmoothGrad-squared, VarGrad) are dealt into two
independent halves; the correlation of the two half maps, corrected to the full count by the
Spearman-Brown formula, estimates how well the map correlates with a rerun on fresh noise. The
engine measures it while it samples (see ``explainers._gradient_statistics``), because it also
decides when to stop; this module declares the metric and re-exports the formula.
"""

from __future__ import annotations

from explainers import spearman_brown, split_half_reliability
from metrics._base import MetricInfo

RELIABILITY = MetricInfo(
    name="reliability",
    label="Reproducibility (split-half)",
    paper="Spearman, 1910; Brown, 1910",
    better="higher",
    value_range=(-1.0, 1.0),
    cost="none: measured on the samples the map is made of",
    reading="How closely this map would match the same method run again with fresh random noise "
    "(1 = identical; below 0.9 part of what you see is sampling noise).",
    applies_to="stochastic methods (SmoothGrad, SmoothGrad-squared, VarGrad)",
)

__all__ = ["RELIABILITY", "spearman_brown", "split_half_reliability"]
