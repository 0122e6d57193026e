"""Gradient x Input.

Shrikumar, Greenside, Shcherbina & Kundaje, "Not Just a Black Box: Learning Important Features
Through Propagating Activation Differences", arXiv 2016, https://arxiv.org/abs/1605.01713.

``sum_c x[h, w, c] * d score / d x[h, w, c]``: the first-order Taylor term of each pixel. For a
linear model without bias it is exact: the map sums to the score. Signed; one pass.
"""

from __future__ import annotations

import numpy as np

from explainers._base import MethodInfo, SinglePassMethod


class GradientInput(SinglePassMethod):
    info = MethodInfo(
        name="gradient_input",
        family="gradient",
        label="Gradient x Input",
        description="Each pixel's value times its gradient: a first-order estimate of its contribution.",
        signed=True,
        needs_conv_layer=False,
        paper="Shrikumar et al., 2016",
        misleads_when="It inherits the input's structure (bright pixels dominate) and measures from "
        "an input of zero, which is mid-gray rather than black in many models' input space.",
        default_passes=1,
        units="score",
    )
    input_gradients = True

    def from_pass(self, results, request):
        product = (request.inputs * results["input_gradients"][0]).sum(axis=-1)
        return product.astype(np.float32), {}
