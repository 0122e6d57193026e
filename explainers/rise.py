"""RISE: Randomized Input Sampling for Explanation.

Petsiuk, Das & Saenko, "RISE: Randomized Input Sampling for Explanation of Black-box Models", BMVC 2018,
https://arxiv.org/abs/1806.07421 (reference code: github.com/eclique/RISE).

Random binary grids (``grid`` x ``grid`` cells, each kept with probability ``keep``) are upsampled
bilinearly to one cell more than the image and cropped at a random shift, as in the reference code, so
that masks are smooth and not aligned to the grid. Each mask keeps part of the image and fills the rest
with the baseline (black in the model's input space; the paper multiplies by the mask, which is black for
images in 0..1). ``saliency = sum_i p_i M_i / (N keep)`` with ``p_i`` the class probability of the masked
image: the expected probability when a pixel is kept. Forward passes only, batched under the memory budget.

It is estimated from random masks, so it reports its split-half reliability; with ``reliability_target``
set (the default 0.9) masks are drawn in rounds until the map is that reproducible or ``max_masks``.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from explainers._base import MethodInfo, SampledMethod
from explainers._reliability import DEFAULT_RELIABILITY_TARGET, first_half_count, sample_in_rounds
from explainers._surrogate import class_evidence


class MaskDraws:
    """Random grids and shifts for ``count`` masks; the masks themselves are built a batch at a time, so a
    round of thousands never holds thousands of images (and the result does not depend on the batch size)."""

    def __init__(self, rng: np.random.Generator, count: int, size: tuple[int, int], grid: int, keep: float):
        self.size, self.grid = size, grid
        self.cell = (math.ceil(size[0] / grid), math.ceil(size[1] / grid))
        self.cells = (rng.random((count, grid, grid)) < keep).astype(np.float32)
        self.shifts = rng.integers(0, self.cell, size=(count, 2))

    def masks(self, start: int, stop: int) -> np.ndarray:
        """Masks ``start`` to ``stop`` (count, H, W) in [0, 1], as in the reference code: each grid upsampled
        bilinearly to ``grid + 1`` cells and cropped at its shift within one cell."""
        (height, width), (cell_h, cell_w) = self.size, self.cell
        upsampled_size = ((self.grid + 1) * cell_w, (self.grid + 1) * cell_h)
        masks = np.empty((stop - start, height, width), np.float32)
        for index in range(start, stop):
            upsampled = cv2.resize(self.cells[index], upsampled_size, interpolation=cv2.INTER_LINEAR)
            row, col = self.shifts[index]
            masks[index - start] = upsampled[row : row + height, col : col + width]
        return masks


class _Half:
    def __init__(self, size: tuple[int, int]):
        self.weighted = np.zeros(size, np.float64)
        self.count = 0

    def saliency(self, keep: float, *others: _Half) -> np.ndarray:
        everything = (self, *others)
        return sum(h.weighted for h in everything) / (keep * sum(h.count for h in everything))


class Rise(SampledMethod):
    info = MethodInfo(
        name="rise",
        family="perturbation",
        label="RISE",
        description="The class probability when each region is kept, averaged over random smooth masks.",
        signed=False,
        needs_conv_layer=False,
        paper="Petsiuk et al., 2018",
        misleads_when="Blurry by design (8x8 cells); masked images are unlike real ones; a few hundred to "
        "thousands of forward passes, and the map is an estimate: read its reproducibility.",
        default_passes=2001,
        uses_baseline=True,
        stochastic=True,
        units="probability",
    )
    count_option, cap_option, fixed_passes = "masks", "max_masks", 1  # and one pass for the score

    def attribute(
        self,
        request,
        *,
        masks=256,
        grid=8,
        keep=0.5,
        seed=0,
        reliability_target=DEFAULT_RELIABILITY_TARGET,
        max_masks=2000,
        memory_budget_bytes=None,
    ):
        if masks < 2 or grid < 1 or not 0 < keep < 1:
            raise ValueError("RISE needs at least 2 masks, a grid of at least 1 cell and 0 < keep < 1")
        graph, inputs, baseline = request.graph, request.inputs, request.baseline
        size = inputs.shape[:2]
        rng = np.random.default_rng(seed)
        halves = (_Half(size), _Half(size))
        difference = (inputs - baseline)[None]

        def draw(drawn: int, planned: int) -> None:
            draws = MaskDraws(rng, planned - drawn, size, grid, keep)
            to_first = first_half_count(planned - drawn, halves[0].count, halves[1].count)
            step = graph.batch_size(planned - drawn, memory_budget_bytes)
            for start in range(0, planned - drawn, step):
                stop = min(start + step, planned - drawn)
                batch_masks = draws.masks(start, stop)
                masked = baseline[None] + batch_masks[..., None] * difference
                (batch,) = graph.batched(masked, request.target, memory_budget_bytes)
                probabilities = class_evidence(graph, batch["outputs"], request.target).astype(np.float64)
                cut = min(max(to_first - start, 0), stop - start)
                for half, weights, part in (
                    (halves[0], probabilities[:cut], batch_masks[:cut]),
                    (halves[1], probabilities[cut:], batch_masks[cut:]),
                ):
                    half.weighted += np.tensordot(weights, part, axes=1)
                    half.count += len(weights)
                if request.progress is not None:
                    request.progress(drawn + stop, planned)

        def half_maps():
            return None if not halves[1].count else (halves[0].saliency(keep), halves[1].saliency(keep))

        drawn, reliability = sample_in_rounds(masks, max_masks, reliability_target, draw, half_maps)
        score = float(graph.single_pass(inputs, request.target)["scores"][0])
        return halves[0].saliency(keep, halves[1]).astype(np.float32), {
            "score": score,
            "passes": drawn + 1,
            "reliability": reliability,
            "options": {
                "masks": drawn,
                "initial_masks": masks,
                "max_masks": max_masks,
                "grid": grid,
                "keep": keep,
                "seed": seed,
                "reliability_target": reliability_target,
            },
        }
