"""Kernel SHAP on superpixels.

Lundberg & Lee, "A Unified Approach to Interpreting Model Predictions", NeurIPS 2017,
https://arxiv.org/abs/1705.07874 (reference: the ``shap`` package's KernelExplainer); paired sampling as in
Covert & Lee, "Improving KernelSHAP", AISTATS 2021.

Each superpixel is a player; a coalition shows its segments and fills the rest (black, or a blur). The Shapley
values of the class probability are the weighted least-squares fit with the Shapley kernel
``(M - 1) / (C(M, |z|) |z| (M - |z|))`` under the efficiency constraint: the values add up to
``f(image) - f(everything hidden)`` exactly (the constraint is solved, not hoped for). When all ``2^M - 2``
coalitions fit in the sample budget they are all evaluated and the values are exact Shapley values;
otherwise coalitions are drawn with probability proportional to the kernel (then weighted equally), each
with its complement, in rounds until the map's split-half reliability reaches the target.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from explainers._base import MethodInfo
from explainers._reliability import sample_in_rounds
from explainers._surrogate import SampleHalves, SuperpixelMethod


def shapley_kernel(sizes: np.ndarray, players: int) -> np.ndarray:
    """The Shapley kernel weight of coalitions of these sizes (0 < size < players)."""
    sizes = np.asarray(sizes)
    return (players - 1) / (np.array([math.comb(players, int(s)) for s in sizes]) * sizes * (players - sizes))


def constrained_fit(coalitions: np.ndarray, values: np.ndarray, weights: np.ndarray, empty: float, full: float):
    """Weighted least squares of ``values - empty`` on the coalitions, with the values summing to ``full -
    empty``: the last player's value is eliminated, as the shap package does."""
    total = full - empty
    target = values - empty - coalitions[:, -1] * total
    design = coalitions[:, :-1] - coalitions[:, -1:]
    root = np.sqrt(weights)[:, None]
    rest, *_ = np.linalg.lstsq(design * root, target * root[:, 0], rcond=None)
    return np.append(rest, total - rest.sum())


def every_coalition(players: int) -> np.ndarray:
    """All coalitions but the empty and the full one, (2^M - 2, M)."""
    rows = [z for z in itertools.product((0.0, 1.0), repeat=players) if 0 < sum(z) < players]
    return np.array(rows, np.float64)


def sampled_coalitions(rng: np.random.Generator, count: int, players: int) -> np.ndarray:
    """``count`` coalitions drawn with probability proportional to the Shapley kernel, each followed by its
    complement (the last one alone when ``count`` is odd)."""
    sizes = np.arange(1, players)
    mass = (players - 1) / (sizes * (players - sizes))  # the kernel summed over all coalitions of a size
    drawn = rng.choice(sizes, size=(count + 1) // 2, p=mass / mass.sum())
    coalitions = np.zeros(((count + 1) // 2 * 2, players), np.float64)
    for index, size in enumerate(drawn):
        chosen = rng.choice(players, size=size, replace=False)
        coalitions[2 * index, chosen] = 1.0
        coalitions[2 * index + 1] = 1.0 - coalitions[2 * index]
    return coalitions[:count]


class KernelShap(SuperpixelMethod):
    info = MethodInfo(
        name="kernel_shap",
        family="perturbation",
        label="Kernel SHAP",
        description="Each superpixel's Shapley value: its fair share of the class probability.",
        signed=True,
        needs_conv_layer=False,
        paper="Lundberg & Lee, 2017",
        misleads_when="Shapley values of superpixels, with hidden segments filled (black or blur): images "
        "unlike real ones, and only as fine as the segments. Sampled, not exact, above a dozen segments: read "
        "its reproducibility.",
        default_passes=1002,
        uses_baseline=True,
        stochastic=True,
        units="probability",
    )
    fixed_passes = 2  # the unperturbed image, everything hidden

    def segment_weights(self, runner, whole, rng, sampling):
        players = runner.count
        empty = float(runner.evaluate(np.zeros((1, players)))[0])
        if players < 2:
            return np.array([whole - empty]), {"passes": 2, "options": {"samples": 0, "exact": True}}
        budget = sampling["max_samples"] if sampling["reliability_target"] is not None else sampling["samples"]
        if 2**players - 2 <= max(sampling["samples"], budget):
            coalitions = every_coalition(players)
            weights = shapley_kernel(coalitions.sum(axis=1), players)
            values = constrained_fit(coalitions, runner.evaluate(coalitions), weights, empty, whole)
            found = {"passes": len(coalitions) + 2, "reliability": 1.0}
            return values, found | _efficiency(values, whole, empty) | {
                "options": {"samples": len(coalitions), "exact": True}
            }

        # A coalition and its complement add one equation together: each half needs a couple of samples per
        # player before its fit is determined.
        samples = max(sampling["samples"], 4 * players)
        halves = SampleHalves(pairs=True)

        def draw(drawn: int, planned: int) -> None:
            coalitions = sampled_coalitions(rng, planned - drawn, players)
            halves.deal(coalitions, runner.evaluate(coalitions, lambda done: runner.report(drawn + done, planned)))

        def shapley_values(*half: int) -> np.ndarray:
            coalitions, values = halves.samples(*half)
            return constrained_fit(coalitions, values, np.ones(len(values)), empty, whole)

        def half_maps():
            return None if halves.count(1) < 2 else tuple(runner.pixel_map(shapley_values(h)) for h in (0, 1))

        drawn, reliability = sample_in_rounds(
            samples, max(sampling["max_samples"], samples), sampling["reliability_target"], draw, half_maps
        )
        values = shapley_values()
        return values, {"passes": drawn + 2, "reliability": reliability} | _efficiency(values, whole, empty) | {
            "options": {"samples": drawn, "exact": False}
        }


def _efficiency(values: np.ndarray, full: float, empty: float) -> dict:
    """Efficiency, measured: how far the values' sum is from f(image) - f(everything hidden)."""
    error = abs(float(values.sum()) - (full - empty))
    return {"completeness_error": error, "completeness_relative": error / abs(full - empty) if full != empty else None}
