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

from explainers._base import Method, MethodInfo
from explainers._reliability import DEFAULT_RELIABILITY_TARGET, first_half_count, sample_in_rounds
from explainers._surrogate import Coalitions, class_evidence, filled, superpixels


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


class _Half:
    def __init__(self) -> None:
        self.coalitions: list[np.ndarray] = []
        self.values: list[np.ndarray] = []

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.values)


class KernelShap(Method):
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
    )

    def estimated_passes(self, input_shape, layer_channels, **options):
        settings = self.defaults() | options
        samples = settings["samples"] if settings["reliability_target"] is None else settings["max_samples"]
        return int(max(settings["samples"], samples)) + 2

    def replay_options(self, used, passes):
        samples = passes - 2
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
            raise ValueError("Kernel SHAP needs at least 4 samples")
        graph = request.graph
        labels = superpixels(request.inputs, segmentation, segments)
        runner = Coalitions(request, labels, filled(request.inputs, request.baseline, fill), memory_budget_bytes)
        players = runner.count
        unperturbed = graph.single_pass(request.inputs, request.target)
        full = float(class_evidence(graph, unperturbed["outputs"], request.target)[0])
        empty = float(runner.evaluate(np.zeros((1, players)))[0])
        options = {
            "segments": players,
            "segmentation": segmentation,
            "fill": fill,
            "seed": seed,
            "initial_samples": samples,
            "max_samples": max_samples,
            "reliability_target": reliability_target,
        }
        extra = {"score": float(unperturbed["scores"][0]), "segments": labels}

        if players < 2:
            values = np.array([full - empty])
            return runner.pixel_map(values), extra | {"passes": 2, "options": options | {"samples": 0}}
        if 2**players - 2 <= max(samples, max_samples if reliability_target is not None else samples):
            coalitions = every_coalition(players)
            weights = shapley_kernel(coalitions.sum(axis=1), players)
            values = constrained_fit(coalitions, runner.evaluate(coalitions), weights, empty, full)
            return runner.pixel_map(values), extra | self._checked(values, full, empty) | {
                "passes": len(coalitions) + 2,
                "reliability": 1.0,
                "options": options | {"samples": len(coalitions), "exact": True},
            }

        # A coalition and its complement add one equation together: each half needs a couple of samples per
        # player before its fit is determined.
        samples = max(samples, 4 * players)
        rng = np.random.default_rng(seed)
        halves = (_Half(), _Half())

        def draw(drawn: int, planned: int) -> None:
            coalitions = sampled_coalitions(rng, planned - drawn, players)

            def report(done: int) -> None:
                if request.progress is not None:
                    request.progress(drawn + done, planned)

            values = runner.evaluate(coalitions, report)
            cut = first_half_count(len(values), halves[0].count, halves[1].count)
            cut += cut % 2  # a coalition and its complement stay in the same half
            for half, part in ((halves[0], slice(None, cut)), (halves[1], slice(cut, None))):
                if len(values[part]):
                    half.coalitions.append(coalitions[part])
                    half.values.append(values[part])

        def shapley_values(*parts: _Half) -> np.ndarray:
            coalitions = np.concatenate([c for h in parts for c in h.coalitions])
            values = np.concatenate([v for h in parts for v in h.values])
            return constrained_fit(coalitions, values, np.ones(len(values)), empty, full)

        def half_maps():
            if halves[1].count < 2:
                return None
            return tuple(runner.pixel_map(shapley_values(half)) for half in halves)

        drawn, reliability = sample_in_rounds(samples, max(max_samples, samples), reliability_target, draw, half_maps)
        values = shapley_values(*halves)
        return runner.pixel_map(values), extra | self._checked(values, full, empty) | {
            "passes": drawn + 2,
            "reliability": reliability,
            "options": options | {"samples": drawn, "exact": False},
        }

    @staticmethod
    def _checked(values: np.ndarray, full: float, empty: float) -> dict:
        """Efficiency, measured: how far the values' sum is from f(image) - f(everything hidden)."""
        error = abs(float(values.sum()) - (full - empty))
        return {
            "completeness_error": error,
            "completeness_relative": error / abs(full - empty) if full != empty else None,
        }
