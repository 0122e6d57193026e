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

from explainers._base import MethodInfo
from explainers._reliability import sample_in_rounds
from explainers._surrogate import SampleHalves, SuperpixelMethod

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


class Lime(SuperpixelMethod):
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
        units="probability",
    )

    def segment_weights(self, runner, whole, rng, sampling):
        halves = SampleHalves()
        unperturbed = (np.ones((1, runner.count)), np.array([whole]))  # always one of the samples, as in the package

        def draw(drawn: int, planned: int) -> None:
            coalitions = rng.integers(0, 2, size=(planned - drawn, runner.count)).astype(np.float64)
            halves.deal(coalitions, runner.evaluate(coalitions, lambda done: runner.report(drawn + done, planned)))

        def coefficients(*half: int) -> np.ndarray:
            coalitions, values = halves.samples(*half)
            return fit(np.concatenate([unperturbed[0], coalitions]), np.concatenate([unperturbed[1], values]))

        def half_maps():
            return None if halves.count(1) < 2 else tuple(runner.pixel_map(coefficients(h)) for h in (0, 1))

        drawn, reliability = sample_in_rounds(
            sampling["samples"], sampling["max_samples"], sampling["reliability_target"], draw, half_maps
        )
        return coefficients(), {"passes": drawn + 1, "reliability": reliability, "options": {"samples": drawn}}
