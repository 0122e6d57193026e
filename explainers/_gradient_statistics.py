"""The family of methods that average gradients over noisy copies of the input.

SmoothGrad (the mean), SmoothGrad-squared (the mean of squares) and VarGrad (the variance) all
draw the same noisy samples and differ only in the statistic they keep, so the sums are computed
once here, batch by batch, and each method overrides :meth:`statistic`.
"""

from __future__ import annotations

import numpy as np

from explainers._base import Method


class GradientStatistics(Method):
    """Gaussian noise with standard deviation ``noise_level * (max(x) - min(x))`` on ``samples`` copies."""

    def statistic(self, mean: np.ndarray, mean_of_squares: np.ndarray) -> np.ndarray:
        """The (H, W) map from the per-channel mean and mean of squares of the gradients (H, W, C)."""
        raise NotImplementedError

    def estimated_passes(self, input_shape, layer_channels, **options):
        return int((self.defaults() | options)["samples"])

    def attribute(self, request, *, samples=25, noise_level=0.15, seed=0, memory_budget_bytes=None):
        if samples < 1:
            raise ValueError(f"{self.info.label} needs at least one sample")
        inputs = request.inputs
        sigma = float(noise_level) * float(inputs.max() - inputs.min())
        noise = np.random.default_rng(seed).normal(0.0, sigma, (samples, *inputs.shape)).astype(np.float32)
        total = np.zeros(inputs.shape, np.float64)
        total_of_squares = np.zeros(inputs.shape, np.float64)
        score_sum = 0.0
        for batch in request.graph.batched(
            inputs[None] + noise, request.target, memory_budget_bytes, request.progress, input_gradients=True
        ):
            gradients = batch["input_gradients"].astype(np.float64)
            total += gradients.sum(axis=0)
            total_of_squares += np.square(gradients).sum(axis=0)
            score_sum += float(batch["scores"].sum())
        mean, mean_of_squares = total / samples, total_of_squares / samples
        attribution = self.statistic(mean, mean_of_squares).astype(np.float32)
        return attribution, {
            "score": score_sum / samples,
            "passes": samples,
            "options": {"samples": samples, "noise_level": noise_level, "sigma": sigma, "seed": seed},
        }
