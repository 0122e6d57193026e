"""Vanilla gradient saliency.

Simonyan, Vedaldi & Zisserman, "Deep Inside Convolutional Networks: Visualising Image
Classification Models and Saliency Maps", ICLR Workshop 2014, https://arxiv.org/abs/1312.6034.

The map is ``max_c |d score / d x[h, w, c]|``: how strongly an infinitesimal change of each pixel
moves the class score. One forward and one backward pass.
"""

from __future__ import annotations

from explainers._base import Method, MethodInfo, max_abs_over_channels


class Saliency(Method):
    info = MethodInfo(
        name="saliency",
        label="Saliency",
        description="Gradient magnitude of the class score with respect to each pixel.",
        signed=False,
        needs_conv_layer=False,
        paper="Simonyan et al., 2014",
        misleads_when="Gradients are local and noisy: a pixel can matter a lot and still show "
        "a small gradient when the network is saturated there.",
        default_passes=1,
    )

    def attribute(self, graph, inputs, target, layer, progress):
        scores, gradients = graph.batched_gradients(inputs[None], target)
        return max_abs_over_channels(gradients[0]), {"score": float(scores[0])}
