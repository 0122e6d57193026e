"""SmoothGrad: the gradient averaged over noisy copies of the input.

Smilkov, Thorat, Kim, Viégas & Wattenberg, "SmoothGrad: removing noise by adding noise",
ICML Workshop 2017, https://arxiv.org/abs/1706.03825.

The mean gradient over ``samples`` noisy copies (paper defaults: 15 % noise; 25 samples here),
reduced over channels like vanilla saliency.
"""

from __future__ import annotations

from explainers._base import MethodInfo, max_abs_over_channels
from explainers._gradient_statistics import GradientStatistics


class SmoothGrad(GradientStatistics):
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

    def statistic(self, mean, mean_of_squares):
        return max_abs_over_channels(mean)
