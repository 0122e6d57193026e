"""Vanilla gradient saliency.

Simonyan, Vedaldi & Zisserman, "Deep Inside Convolutional Networks: Visualising Image
Classification Models and Saliency Maps", ICLR Workshop 2014, https://arxiv.org/abs/1312.6034.

The map is ``max_c |d score / d x[h, w, c]|``: how strongly an infinitesimal change of each pixel
moves the class score. One forward and one backward pass.
"""

from __future__ import annotations

from explainers._base import MethodInfo, SinglePassMethod, max_abs_over_channels


class Saliency(SinglePassMethod):
    info = MethodInfo(
        name="saliency",
        family="gradient",
        label="Saliency",
        description="Gradient magnitude of the class score with respect to each pixel.",
        signed=False,
        needs_conv_layer=False,
        paper="Simonyan et al., 2014",
        misleads_when="Gradients are local and noisy: a pixel can matter a lot and still show "
        "a small gradient when the network is saturated there.",
        default_passes=1,
    )
    input_gradients = True

    def from_pass(self, results, request):
        return max_abs_over_channels(results["input_gradients"][0]), {}
