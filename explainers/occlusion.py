"""Occlusion: how much the score drops when a patch of the image is hidden.

Zeiler & Fergus, "Visualizing and Understanding Convolutional Networks", ECCV 2014,
https://arxiv.org/abs/1311.2901.

A ``patch`` x ``patch`` square of the baseline (black in the model's input space) slides over the
image with ``stride``; each pixel's attribution is the mean score drop over the patches covering
it. Forward passes only, batched under the memory budget. With 1x1 patches on a linear model
it equals ``(x - baseline) * w`` exactly.
"""

from __future__ import annotations

import numpy as np

from explainers._base import Method, MethodInfo


def _starts(length: int, patch: int, stride: int) -> list[int]:
    starts = list(range(0, max(length - patch, 0) + 1, stride))
    if starts[-1] + patch < length:  # cover the last rows/columns too
        starts.append(length - patch)
    return starts


class Occlusion(Method):
    info = MethodInfo(
        name="occlusion",
        family="perturbation",
        label="Occlusion",
        description="Score drop when each region is covered with black: a direct, model-agnostic test.",
        signed=True,
        needs_conv_layer=False,
        paper="Zeiler & Fergus, 2014",
        misleads_when="Only as fine as the patch; a black patch is itself an unusual input, and "
        "redundant evidence (two eyes) hides: covering one leaves the other.",
        default_passes=170,
        uses_baseline=True,
        units="score",
    )

    def estimated_passes(self, input_shape, layer_channels, **options):
        settings = self.defaults() | options
        patch = int(min(settings["patch"], *input_shape[:2]))
        rows, cols = (len(_starts(length, patch, settings["stride"])) for length in input_shape[:2])
        return rows * cols + 1

    def attribute(self, request, *, patch=32, stride=16, memory_budget_bytes=None):
        inputs, baseline = request.inputs, request.baseline
        height, width = inputs.shape[:2]
        patch = int(min(patch, height, width))
        if patch < 1 or stride < 1:
            raise ValueError("Occlusion needs a patch and a stride of at least 1 pixel")
        windows = [(r, c) for r in _starts(height, patch, stride) for c in _starts(width, patch, stride)]
        occluded = np.repeat(inputs[None], len(windows), axis=0)
        for index, (row, col) in enumerate(windows):
            occluded[index, row : row + patch, col : col + patch] = baseline[row : row + patch, col : col + patch]
        reference = float(request.graph.single_pass(inputs, request.target)["scores"][0])
        scores = np.concatenate(
            [
                batch["scores"]
                for batch in request.graph.batched(occluded, request.target, memory_budget_bytes, request.progress)
            ]
        )
        drops = np.zeros(inputs.shape[:2], np.float64)
        counts = np.zeros(inputs.shape[:2], np.float64)
        for (row, col), score in zip(windows, scores, strict=True):
            drops[row : row + patch, col : col + patch] += reference - score
            counts[row : row + patch, col : col + patch] += 1
        return (drops / counts).astype(np.float32), {
            "score": reference,
            "passes": len(windows) + 1,
            "options": {"patch": patch, "stride": stride, "windows": len(windows)},
        }
