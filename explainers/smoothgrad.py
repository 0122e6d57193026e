"""SmoothGrad: saliency averaged over noisy copies of the input.

Smilkov, Thorat, Kim, Viégas & Wattenberg, "SmoothGrad: removing noise by adding noise",
ICML Workshop 2017, https://arxiv.org/abs/1706.03825.

The paper smooths a sensitivity map ``M(x)`` by averaging ``M(x + noise)`` over ``n`` samples
(15 % noise). Which map is averaged decides how reproducible the result is:

- ``statistic="mean_saliency"`` (the default) averages each sample's saliency map,
  ``max_c |gradient|`` (Simonyan et al.'s map, whose absolute value the paper also uses for
  ImageNet). Measured on the bundled EfficientNet-Lite0 (coffee photo), its split-half reliability
  is 0.89 at 25 samples and 0.94 at 50.
- ``statistic="mean_gradient"`` averages the signed gradient, then takes ``max_c |.|`` (as
  tf-keras-vis and the paper's formula applied to the raw gradient). The signed mean is small
  against its spread, so its map is mostly Monte-Carlo noise: reliability 0.56 at 25 samples, 0.69
  at 100 and 0.78 at 200 on the same photo (two runs with different seeds correlated at r = 0.23 at
  25 samples on a butterfly photo). It needs the cap of 400 samples and still may not reach 0.9.

Either way the samples are drawn in rounds until the split-half reliability reaches 0.9 (see
:mod:`explainers._gradient_statistics`), and the caption reports it.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from explainers._base import MethodInfo, max_abs_over_channels
from explainers._gradient_statistics import GradientMoments, GradientStatistics

STATISTICS = {
    "mean_saliency": "mean of the samples' saliency maps, max over channels of |gradient| (reproducible)",
    "mean_gradient": "|mean gradient|, max over channels (the signed mean: needs many more samples)",
}


class SmoothGrad(GradientStatistics):
    info = MethodInfo(
        name="smoothgrad",
        family="gradient",
        label="SmoothGrad",
        description="Saliency averaged over noisy copies of the image: less speckle, same idea.",
        signed=False,
        needs_conv_layer=False,
        paper="Smilkov et al., 2017",
        misleads_when="The noise level changes the picture; too much noise blurs real detail away. "
        "Like saliency, it shows sensitivity, not contribution.",
        default_passes=50,
        stochastic=True,
    )
    statistic_defaults: ClassVar[dict] = {"statistic": "mean_saliency"}

    def statistic(self, moments: GradientMoments, *, statistic: str = "mean_saliency") -> np.ndarray:
        if statistic == "mean_saliency":
            return moments.mean_saliency
        if statistic == "mean_gradient":
            return max_abs_over_channels(moments.mean)
        raise ValueError(f"unknown SmoothGrad statistic {statistic!r}; choose from {', '.join(STATISTICS)}")
