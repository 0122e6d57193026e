"""How far to trust an attribution map. Built on the engine in ``explainers``; no Streamlit import.

Public API::

    from metrics import METRICS, agreement, curves, random_curves, randomization_check
    faithfulness = curves(model, inputs, explanation.attribution, target, black)   # deletion, insertion
    faithfulness.deletion_auc, faithfulness.insertion_auc
    check = randomization_check(model, inputs, "saliency", target)                # on a private copy
    check.spearman, check.passed

Each metric declares a :class:`MetricInfo` in :data:`METRICS` (label, paper, better direction,
range, cost, a one-sentence reading) that a UI can show without computing anything. The split-half
reliability of stochastic maps is measured by the engine while it samples
(``Explanation.reliability``); :mod:`metrics.reliability` declares it.
"""

from types import MappingProxyType

from metrics._base import MetricInfo
from metrics.agreement import AGREEMENT, agreement
from metrics.deletion_insertion import DELETION, INSERTION, STEPS, Curves, blurred, curves, pixel_order, random_curves
from metrics.randomization import (
    DEFAULT_STAGES,
    PASS_BELOW,
    RANDOMIZATION,
    RandomizationResult,
    cascading_stages,
    private_copy,
    randomization_check,
    randomize_layers,
    stage_count,
)
from metrics.readings import faithfulness_table, faithfulness_text, randomization_text, reproducibility_text
from metrics.reliability import RELIABILITY, spearman_brown, split_half_reliability
from metrics.similarity import spearman, ssim

METRICS: MappingProxyType[str, MetricInfo] = MappingProxyType(
    {info.name: info for info in (RELIABILITY, DELETION, INSERTION, RANDOMIZATION, AGREEMENT)}
)

__all__ = [
    "DEFAULT_STAGES",
    "METRICS",
    "PASS_BELOW",
    "STEPS",
    "Curves",
    "MetricInfo",
    "RandomizationResult",
    "agreement",
    "blurred",
    "cascading_stages",
    "curves",
    "faithfulness_table",
    "faithfulness_text",
    "pixel_order",
    "private_copy",
    "random_curves",
    "randomization_check",
    "randomization_text",
    "randomize_layers",
    "reproducibility_text",
    "spearman",
    "spearman_brown",
    "split_half_reliability",
    "ssim",
    "stage_count",
]
