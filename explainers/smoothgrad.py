"""SmoothGrad: the gradient averaged over noisy copies of the input.

Smilkov, Thorat, Kim, Viégas & Wattenberg, "SmoothGrad: removing noise by adding noise",
ICML Workshop 2017, https://arxiv.org/abs/1706.03825.

Gaussian noise with standard deviation ``noise_level * (max(x) - min(x))`` is added to
``samples`` copies of the input (paper defaults: 15 %, and 25 samples here); their gradients are
averaged, then reduced over channels like vanilla saliency. The copies run in batches sized by the
memory budget.
"""

from __future__ import annotations

import numpy as np

from explainers._base import Method, MethodInfo, max_abs_over_channels


class SmoothGrad(Method):
    info = MethodInfo(
        name="smoothgrad",
        label="SmoothGrad",
        description="Saliency averaged over noisy copies of the image: less speckle, same idea.",
        signed=False,
        needs_conv_layer=False,
        paper="Smilkov et al., 2017",
        misleads_when="The noise level changes the picture; too much noise blurs real detail away. "
        "Like saliency, it shows sensitivity, not contribution.",
        default_passes=25,
    )

    def attribute(
        self, graph, inputs, target, layer, progress, *, samples=25, noise_level=0.15, seed=0, memory_budget_bytes=None
    ):
        if samples < 1:
            raise ValueError("SmoothGrad needs at least one sample")
        sigma = float(noise_level) * float(inputs.max() - inputs.min())
        noise = np.random.default_rng(seed).normal(0.0, sigma, (samples, *inputs.shape)).astype(np.float32)
        scores, gradients = graph.batched_gradients(inputs[None] + noise, target, memory_budget_bytes, progress)
        attribution = max_abs_over_channels(gradients.mean(axis=0))
        return attribution, {
            "score": float(scores.mean()),
            "options": {"samples": samples, "noise_level": noise_level, "sigma": sigma, "seed": seed},
        }
