"""A model's prediction for one image, in the terms every view of it uses: the chart's rows, the confidence a
caption gives, and the one-line caption of a map explaining it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explainers._base import Explanation
from explainers._rules import COMPOSITES

CHART_TITLES = {
    "softmax": "Top-5 predictions",
    "logits": "Top-5 predictions (softmax of the model's logits)",
    "multilabel": "Top-5 labels (each probability on its own; they need not sum to 100%)",
    "binary": "Binary prediction (one sigmoid output)",
    "score": "Model output (a score, not a probability)",
}


@dataclass(frozen=True)
class Prediction:
    kind: str
    """A key of ``OUTPUT_KINDS``: the chart and the target picker adapt to it."""
    outputs: np.ndarray
    probabilities: np.ndarray | None
    """None when the single output is a score, not a probability."""
    names: tuple[str, ...]

    def confidence(self, index: int) -> str:
        if self.probabilities is None:
            return f"score {self.outputs[index]:.3g}"
        return f"{self.probabilities[index]:.1%}"

    def ranked(self) -> list[int]:
        values = self.outputs if self.probabilities is None else self.probabilities
        return [int(i) for i in np.argsort(values)[::-1]]

    @property
    def chart_title(self) -> str:
        return CHART_TITLES[self.kind]

    def chart_rows(self) -> list[tuple[str, float]]:
        """What the prediction chart shows, top first: (name, probability), or (name, score) for a score."""
        if self.kind == "binary":
            positive, name = float(self.probabilities[0]), self.names[0]
            return [(name, positive), (f"not {name}", 1.0 - positive)]
        if self.kind == "score":
            return [(self.names[0], float(self.outputs[0]))]
        return [(self.names[i], float(self.probabilities[i])) for i in self.ranked()[:5]]


def caption(explanation: Explanation, class_name: str, confidence: str) -> str:
    """A map's caption: what it explains, what it cost, and what it measured about itself."""
    explained = "its logit" if explanation.score_kind == "logit" else "the model output"
    parts = [
        f"{class_name} ({confidence}), {explained}",
        f"{explanation.elapsed_s:.2f} s, {explanation.passes} passes",
    ]
    if explanation.layer:
        parts.append(f"layer {explanation.layer}")
    if explanation.completeness_relative is not None:
        steps = explanation.options.get("steps")
        parts.append(
            f"completeness error {explanation.completeness_relative:.1%}" + (f" ({steps} steps)" if steps else "")
        )
    if explanation.options.get("composite"):
        parts.append(f"rules {COMPOSITES[explanation.options['composite']].label}")
    if explanation.options.get("gradient_at"):
        parts.append("plain gradient at " + ", ".join(explanation.options["gradient_at"]))
    if explanation.reliability is not None:
        parts.append(f"reproducibility {explanation.reliability:.2f} (split-half)")
    return " · ".join(parts)
