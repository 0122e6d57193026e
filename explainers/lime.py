"""LIME on superpixels.

Ribeiro, Singh & Guestrin, ""Why Should I Trust You?": Explaining the Predictions of Any Classifier", KDD 2016,
https://arxiv.org/abs/1602.04938 (reference: the ``lime`` package's image explainer).

The image is cut into superpixels (SLIC by default, or quickshift as the package does); random coalitions
show each segment with probability 1/2 and fill the rest (black, or a blur); the class probability of each
perturbed image is fitted by a ridge regression (alpha 1, with intercept) weighted by the kernel
``sqrt(exp(-d^2 / 0.25^2))`` of the cosine distance ``d`` from the whole image, as in the package. Each
segment's coefficient is its pixels' value in the map. The unperturbed image is always one of the samples.

The fit is an estimate from random samples: the samples are dealt into two halves, each fitted alone, and the
two maps' split-half reliability is reported; samples are drawn in rounds until it reaches the target.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import Ridge

from explainers._base import Method, MethodInfo
from explainers._reliability import DEFAULT_RELIABILITY_TARGET, first_half_count, sample_in_rounds
from explainers._surrogate import Coalitions, class_evidence, filled, superpixels

KERNEL_WIDTH = 0.25


def lime_weights(coalitions: np.ndarray) -> np.ndarray:
    """The package's sample weights: an exponential kernel of the cosine distance to the all-ones coalition."""
    norms = np.linalg.norm(coalitions, axis=1) * np.sqrt(coalitions.shape[1])
    cosine = np.where(norms > 0, coalitions.sum(axis=1) / np.where(norms > 0, norms, 1.0), 0.0)
    distance = 1.0 - cosine
    return np.sqrt(np.exp(-(distance**2) / KERNEL_WIDTH**2))


def fit(coalitions: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Ridge coefficients (one per segment) of the weighted fit."""
    model = Ridge(alpha=1.0, fit_intercept=True)
    model.fit(coalitions, values, sample_weight=lime_weights(coalitions))
    return model.coef_


class _Half:
    def __init__(self) -> None:
        self.coalitions: list[np.ndarray] = []
        self.values: list[np.ndarray] = []

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.values)

    def add(self, coalitions: np.ndarray, values: np.ndarray) -> None:
        if len(values):
            self.coalitions.append(coalitions)
            self.values.append(values)


class Lime(Method):
    info = MethodInfo(
        name="lime",
        family="perturbation",
        label="LIME",
        description="A linear model of the class probability over which superpixels are shown.",
        signed=True,
        needs_conv_layer=False,
        paper="Ribeiro et al., 2016",
        misleads_when="Only as fine as the superpixels; the kernel width and the fill (black or blur) change "
        "the answer; hidden segments make images unlike real ones. An estimate: read its reproducibility.",
        default_passes=1001,
        uses_baseline=True,
        stochastic=True,
    )

    def estimated_passes(self, input_shape, layer_channels, **options):
        settings = self.defaults() | options
        samples = settings["samples"] if settings["reliability_target"] is None else settings["max_samples"]
        return int(max(settings["samples"], samples)) + 1

    def replay_options(self, used, passes):
        samples = passes - 1
        replay = super().replay_options(used, passes)
        return replay | {"samples": min(used["initial_samples"], samples), "max_samples": samples}

    def attribute(
        self,
        request,
        *,
        samples=256,
        segments=50,
        segmentation="slic",
        fill="baseline",
        seed=0,
        reliability_target=DEFAULT_RELIABILITY_TARGET,
        max_samples=1000,
        memory_budget_bytes=None,
    ):
        if samples < 4:
            raise ValueError("LIME needs at least 4 samples")
        labels = superpixels(request.inputs, segmentation, segments)
        runner = Coalitions(request, labels, filled(request.inputs, request.baseline, fill), memory_budget_bytes)
        rng = np.random.default_rng(seed)
        whole = np.ones((1, runner.count), np.float64)
        unperturbed = request.graph.single_pass(request.inputs, request.target)
        whole_value = class_evidence(request.graph, unperturbed["outputs"], request.target)
        halves = (_Half(), _Half())

        def draw(drawn: int, planned: int) -> None:
            coalitions = rng.integers(0, 2, size=(planned - drawn, runner.count)).astype(np.float64)

            def report(done: int) -> None:
                if request.progress is not None:
                    request.progress(drawn + done, planned)

            values = runner.evaluate(coalitions, report)
            cut = first_half_count(len(values), halves[0].count, halves[1].count)
            halves[0].add(coalitions[:cut], values[:cut])
            halves[1].add(coalitions[cut:], values[cut:])

        def coefficients(*parts: _Half) -> np.ndarray:
            coalitions = np.concatenate([whole, *(c for h in parts for c in h.coalitions)])
            values = np.concatenate([whole_value, *(v for h in parts for v in h.values)])
            return fit(coalitions, values)

        def half_maps():
            if halves[1].count < 2:
                return None
            return tuple(runner.pixel_map(coefficients(half)) for half in halves)

        drawn, reliability = sample_in_rounds(samples, max_samples, reliability_target, draw, half_maps)
        return runner.pixel_map(coefficients(*halves)), {
            "score": float(unperturbed["scores"][0]),
            "passes": drawn + 1,
            "reliability": reliability,
            "segments": labels,
            "options": {
                "samples": drawn,
                "initial_samples": samples,
                "max_samples": max_samples,
                "segments": runner.count,
                "segmentation": segmentation,
                "fill": fill,
                "seed": seed,
                "reliability_target": reliability_target,
            },
        }
