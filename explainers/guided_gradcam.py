"""Guided Grad-CAM: Guided Backpropagation masked by Grad-CAM.

Selvaraju, Cogswell, Das, Vedantam, Parikh & Batra, "Grad-CAM: Visual Explanations from Deep
Networks via Gradient-based Localization", ICCV 2017, https://arxiv.org/abs/1610.02391 (Sec. 3.1).

The element-wise product of the guided gradient (H, W, C) and the upsampled Grad-CAM map, reduced
over channels: fine detail, restricted to where the class evidence is. Two passes (guided and
plain). It inherits Guided Backpropagation's failure of the randomisation sanity check.
"""

from __future__ import annotations

from explainers._base import Method, MethodInfo, max_abs_over_channels
from explainers.gradcam import GradCAM
from explainers.guided_backprop import GuidedBackprop


class GuidedGradCAM(Method):
    info = MethodInfo(
        name="guided_gradcam",
        family="cam",
        label="Guided Grad-CAM",
        description="Guided Backprop's detail, kept only where Grad-CAM finds the class.",
        signed=False,
        needs_conv_layer=True,
        paper="Selvaraju et al., 2017",
        misleads_when="Fails the model-randomisation sanity check through its guided part: the fine "
        "detail is largely image edges, whatever the model learned.",
        default_passes=2,
        passes_randomization_check=False,
    )

    def attribute(self, request):
        cam, extra = GradCAM().attribute(request)
        guided = request.graph.single_pass(request.inputs, request.target, **GuidedBackprop().needs(None))
        return max_abs_over_channels(guided["input_gradients"][0] * cam[..., None]), extra | {"passes": 2}
