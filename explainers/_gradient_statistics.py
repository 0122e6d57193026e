"""The family of methods that average gradients over noisy copies of the input.

SmoothGrad (a mean), SmoothGrad-squared (the mean of squares) and VarGrad (the variance) all draw
the same noisy samples and differ only in the statistic they keep, so the sums are computed once
here, batch by batch, and each method overrides :meth:`GradientStatistics.statistic`.

Each map is an estimate from random samples, so each one reports its own sampling error: the
samples are dealt into two independent halves, and the split-half reliability (see
:mod:`explainers._reliability`) estimates how well this map would correlate with the map from a
rerun with fresh noise. With ``reliability_target`` set (the default, 0.9), sampling goes on in
rounds, each sized by the Spearman-Brown prophecy from the reliability measured so far, until the
estimate reaches the target or ``max_samples``. ``reliability_target=None`` draws exactly ``samples``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from explainers._base import SampledMethod, max_abs_over_channels
from explainers._reliability import DEFAULT_RELIABILITY_TARGET, first_half_count, sample_in_rounds

DEFAULT_MAX_SAMPLES = 400


@dataclass(frozen=True)
class GradientMoments:
    """Per-pixel statistics of the gradients over a set of noisy samples."""

    mean: np.ndarray
    """Mean gradient, (H, W, C)."""
    mean_of_squares: np.ndarray
    """Mean squared gradient, (H, W, C)."""
    mean_saliency: np.ndarray
    """Mean of each sample's saliency map ``max_c |gradient|``, (H, W)."""


class _Sums:
    """Running sums over one half of the samples."""

    def __init__(self, shape: tuple[int, ...]):
        self.gradient = np.zeros(shape, np.float64)
        self.square = np.zeros(shape, np.float64)
        self.saliency = np.zeros(shape[:-1], np.float64)
        self.count = 0

    def add(self, gradients: np.ndarray) -> None:
        # float32 values summed into float64 totals: no float64 copy of the batch on this hot path.
        self.gradient += gradients.sum(axis=0, dtype=np.float64)
        self.square += np.square(gradients).sum(axis=0, dtype=np.float64)
        self.saliency += max_abs_over_channels(gradients).sum(axis=0, dtype=np.float64)
        self.count += len(gradients)

    def moments(self, *others: _Sums) -> GradientMoments:
        everything = (self, *others)
        count = sum(s.count for s in everything)
        return GradientMoments(
            sum(s.gradient for s in everything) / count,
            sum(s.square for s in everything) / count,
            sum(s.saliency for s in everything) / count,
        )


class GradientStatistics(SampledMethod):
    """Gaussian noise with standard deviation ``noise_level * (max(x) - min(x))`` on noisy copies."""

    statistic_defaults: ClassVar[dict] = {}
    """Options of :meth:`statistic` beyond the sampling ones, with their defaults."""

    def statistic(self, moments: GradientMoments, **options) -> np.ndarray:
        """The (H, W) map from the gradients' moments; ``options`` are the method's own (e.g. SmoothGrad's)."""
        raise NotImplementedError

    def defaults(self) -> dict:
        return super().defaults() | self.statistic_defaults

    def attribute(
        self,
        request,
        *,
        samples=25,
        noise_level=0.15,
        seed=0,
        reliability_target=DEFAULT_RELIABILITY_TARGET,
        max_samples=DEFAULT_MAX_SAMPLES,
        memory_budget_bytes=None,
        **statistic_options,
    ):
        if samples < 1:
            raise ValueError(f"{self.info.label} needs at least one sample")
        statistic_options = self.statistic_defaults | statistic_options
        inputs = request.inputs
        sigma = float(noise_level) * float(inputs.max() - inputs.min())
        rng = np.random.default_rng(seed)
        halves = (_Sums(inputs.shape), _Sums(inputs.shape))
        score_sum = 0.0

        def draw(drawn: int, planned: int) -> None:
            nonlocal score_sum

            def report(done: int, _total: int) -> None:
                if request.progress is not None:
                    request.progress(drawn + done, planned)

            # Drawn in float32: a third of the time of float64 draws cast down, on a serial step of every round.
            noise = rng.standard_normal((planned - drawn, *inputs.shape), dtype=np.float32)
            noise *= np.float32(sigma)
            to_first = first_half_count(planned - drawn, halves[0].count, halves[1].count)
            done = 0
            for batch in request.graph.batched(
                inputs[None] + noise, request.target, memory_budget_bytes, report, input_gradients=True
            ):
                gradients = batch["input_gradients"]
                cut = min(max(to_first - done, 0), len(gradients))
                for half, part in ((halves[0], gradients[:cut]), (halves[1], gradients[cut:])):
                    if len(part):
                        half.add(part)
                score_sum += float(batch["scores"].sum())
                done += len(gradients)

        def half_maps():
            if not halves[1].count:
                return None
            return tuple(self.statistic(half.moments(), **statistic_options) for half in halves)

        drawn, reliability = sample_in_rounds(samples, max_samples, reliability_target, draw, half_maps)
        cap = samples if reliability_target is None else max(samples, max_samples)

        attribution = self.statistic(halves[0].moments(halves[1]), **statistic_options).astype(np.float32)
        return attribution, {
            "score": score_sum / drawn,
            "passes": drawn,
            "reliability": reliability,
            "options": {
                "samples": drawn,
                "initial_samples": samples,
                "max_samples": cap,
                "reliability_target": reliability_target,
                "noise_level": noise_level,
                "sigma": sigma,
                "seed": seed,
                **statistic_options,
            },
        }
