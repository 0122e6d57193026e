"""VarGrad: the variance of the gradient over noisy copies of the input.

Adebayo, Gilmer, Goodfellow & Kim, "Local Explanation Methods for Deep Neural Networks Lack
Sensitivity to Parameter Values", ICLR Workshop 2018, https://arxiv.org/abs/1810.03307.

``max_c var(grad)``: where the gradient changes most as the input is perturbed. With zero noise it
is zero everywhere.

Its samples are drawn in rounds until the map's split-half reliability reaches 0.9 (see
:mod:`explainers._gradient_statistics`): on the bundled EfficientNet-Lite0 that took about 100
samples on the coffee photo, where 25 gave 0.70.
"""

from __future__ import annotations

import numpy as np

from explainers._base import MethodInfo
from explainers._gradient_statistics import GradientStatistics


class VarGrad(GradientStatistics):
    info = MethodInfo(
        name="vargrad",
        family="gradient",
        label="VarGrad",
        description="Variance of the gradient over noisy copies: where the model's sensitivity is unstable.",
        signed=False,
        needs_conv_layer=False,
        paper="Adebayo et al., 2018",
        misleads_when="It shows how much the gradient fluctuates, not which way the evidence points; "
        "it depends strongly on the noise level.",
        default_passes=100,
        stochastic=True,
    )

    def statistic(self, moments):
        return np.maximum(moments.mean_of_squares - np.square(moments.mean), 0.0).max(axis=-1)
