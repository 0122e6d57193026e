"""What the trust numbers mean, in sentences a page or a report shows beside them (Markdown, ``**bold**``)."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

import explainers
from metrics.deletion_insertion import Curves
from metrics.randomization import PASS_BELOW, RandomizationResult


def _versus(value: float, chance: float, better: str) -> str:
    beats = value < chance if better == "lower" else value > chance
    return "better than random" if beats else "**no better than random**"


def reproducibility_text(explanation: explainers.Explanation) -> str:
    if explanation.reliability is not None:
        return (
            f"**Reproducibility {explanation.reliability:.2f}** ({explanation.passes} samples, seed "
            f"{explanation.options.get('seed')}): how well a rerun with fresh noise would match this map."
            + (" Below 0.9: part of what you see is sampling noise." if explanation.reliability < 0.9 else "")
        )
    text = "**Deterministic**: the same map every run."
    if explanation.completeness_relative is not None:
        total = "score change from the baseline" if explanation.info.uses_baseline else "score"
        text += f" Its sum misses the {total} by {explanation.completeness_relative:.1%} (completeness error)."
    return text


def faithfulness_text(curves: Curves, chance: Curves | None) -> str:
    parts = []
    for name, value, better in (
        ("Deletion", curves.deletion_auc, "lower"),
        ("Insertion", curves.insertion_auc, "higher"),
    ):
        text = f"**{name} AUC {value:.3f}**"
        if chance is not None:
            reference = getattr(chance, f"{name.lower()}_auc")
            text += f" ({better} is better; random order {reference:.3f}): {_versus(value, reference, better)}."
        parts.append(text)
    return "  \n".join(parts)


def randomization_text(result: RandomizationResult | None, info: explainers.MethodInfo) -> str:
    literature = "passes" if info.passes_randomization_check else "fails"
    if result is None:
        return f"**Randomisation check** not run on this model yet. In the literature this method {literature} it."
    if result.passed is None:
        return (
            "**Randomisation check not applicable**: this map is constant, so it ranks no pixel above another and "
            f"there is nothing for random weights to change. In the literature this method {literature} it."
        )
    verdict = "passed" if result.passed else "FAILED"
    return (
        f"**Randomisation check {verdict}** on this model: with random weights the map kept a similarity of "
        f"{result.mean_similarity:.2f} (passes below {PASS_BELOW}). In the literature it {literature}."
    )


def faithfulness_table(faithfulness: Mapping[str, Curves], chance: Curves | None) -> pd.DataFrame:
    """Each map's deletion and insertion AUCs and their ranks (1 = best), beside a random order's, best insertion
    first."""
    rows = [
        {
            "method": explainers.METHODS[m].label,
            "deletion AUC (lower is better)": c.deletion_auc,
            "insertion AUC (higher is better)": c.insertion_auc,
        }
        for m, c in faithfulness.items()
    ]
    if chance is not None:
        rows.append(
            {
                "method": "random order (chance)",
                "deletion AUC (lower is better)": chance.deletion_auc,
                "insertion AUC (higher is better)": chance.insertion_auc,
            }
        )
    frame = pd.DataFrame(rows)
    frame["deletion rank"] = frame["deletion AUC (lower is better)"].rank(method="min").astype(int)
    frame["insertion rank"] = frame["insertion AUC (higher is better)"].rank(ascending=False, method="min").astype(int)
    return frame.sort_values("insertion rank").reset_index(drop=True)
