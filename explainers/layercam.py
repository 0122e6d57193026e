"""Layer-CAM: activations weighted location by location by their positive gradients.

Jiang, Zhang, Hou, Cheng & Wei, "LayerCAM: Exploring Hierarchical Class Activation Maps for
Localization", IEEE TIP 2021, https://doi.org/10.1109/TIP.2021.3089943.

``ReLU(sum_k ReLU(g_kij) A_kij)``: no spatial pooling of the gradient, so earlier (finer) layers
give usable maps too. Where the gradient is the same everywhere (global pooling straight into a
linear classifier, with non-negative weights) it equals Grad-CAM.
"""

from __future__ import annotations

import numpy as np

from explainers._base import MethodInfo
from explainers.gradcam import ClassActivationMap


class LayerCAM(ClassActivationMap):
    info = MethodInfo(
        name="layercam",
        family="cam",
        label="Layer-CAM",
        description="Each location weighted by its own positive gradient: works on earlier, finer layers.",
        signed=False,
        needs_conv_layer=True,
        paper="Jiang et al., 2021",
        misleads_when="Ignores negative gradients, so it never shows evidence against the class; "
        "on early layers it can highlight edges of any object.",
        default_passes=1,
    )

    def weights(self, activations, gradients, request, **options):
        return np.maximum(gradients, 0.0)
