"""Guided Backpropagation.

Springenberg, Dosovitskiy, Brox & Riedmiller, "Striving for Simplicity: The All Convolutional
Net", ICLR Workshop 2015, https://arxiv.org/abs/1412.6806.

The input gradient, except that at every ReLU only positive gradients pass back, and only where
the forward signal was positive. Sharp, edge-like maps. Adebayo et al. (2018) showed these maps
barely change when the model's weights are randomised: they mostly reconstruct the image.
"""

from __future__ import annotations

from explainers._base import MethodInfo, SinglePassMethod, max_abs_over_channels


class GuidedBackprop(SinglePassMethod):
    info = MethodInfo(
        name="guided_backprop",
        family="gradient",
        label="Guided Backprop",
        description="Gradients filtered through every ReLU: crisp edges of what was seen.",
        signed=False,
        needs_conv_layer=False,
        paper="Springenberg et al., 2015",
        misleads_when="Fails the model-randomisation sanity check: it looks almost the same for a "
        "model with random weights, so it shows image edges more than the model's reasoning.",
        default_passes=1,
        passes_randomization_check=False,
    )
    input_gradients = True
    guided = True

    def from_pass(self, results, request, **options):
        return max_abs_over_channels(results["input_gradients"][0]), {}
