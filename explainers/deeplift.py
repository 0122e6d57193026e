"""DeepLIFT with the rescale rule.

Shrikumar, Greenside & Kundaje, "Learning Important Features Through Propagating Activation
Differences", ICML 2017, https://arxiv.org/abs/1704.02685.

The input and the baseline run as one batch. Each elementwise nonlinearity (ReLU, ReLU6, sigmoid, tanh,
swish, GELU, ...) passes back the multiplier ``(f(z) - f(z')) / (z - z')`` instead of its derivative (the
derivative where ``|z - z'|`` is tiny); linear layers (convolutions, depthwise, dense, inference batch norm,
add, average pooling) pass gradients unchanged; a Multiply of two signals splits its change exactly
(``ab - a'b' = mean(b) da + mean(a) db``). ``attribution = (x - x') * multiplier``, summed over channels.

Summation to delta: the map adds up to ``f(x) - f(x')`` exactly when every nonlinearity is elementwise or a
two-input product; max pooling and other layers fall back to the gradient (as in the paper for max pooling)
and the conservation error, reported like Integrated Gradients' completeness, says how far the sum is off.
One forward and one backward pass over a batch of two.
"""

from __future__ import annotations

import numpy as np

from explainers._base import Method, MethodInfo
from explainers._rules import DeepLiftRule, deeplift_approximations


class DeepLift(Method):
    info = MethodInfo(
        name="deeplift",
        family="reference",
        label="DeepLIFT",
        description="Each pixel's share of the change from the black image, propagated layer by layer.",
        signed=True,
        needs_conv_layer=False,
        paper="Shrikumar et al., 2017",
        misleads_when="It answers 'compared with the baseline' (black here): features the baseline already "
        "has get nothing. The rescale rule can credit features that cancel inside the network.",
        default_passes=2,
        uses_baseline=True,
        units="score",
    )

    def attribute(self, request):
        graph, inputs, baseline = request.graph, request.inputs, request.baseline
        results = graph.rule_pass(np.stack([inputs, baseline]), request.target, DeepLiftRule())
        scores = results["scores"].astype(np.float64)
        attribution = ((inputs - baseline) * results["input_gradients"][0]).sum(axis=-1).astype(np.float32)
        difference = scores[0] - scores[1]
        error = float(abs(attribution.sum(dtype=np.float64) - difference))
        approximated = deeplift_approximations(graph.model, skip=graph.squashing_layer)
        return attribution, {
            "score": float(scores[0]),
            "passes": 2,
            "completeness_error": error,
            "completeness_relative": error / abs(difference) if difference else None,
            "options": {"gradient_at": sorted(set(approximated))} if approximated else {},
        }
