"""Grad-CAM++: pixel-weighted gradients, for several instances of a class.

Chattopadhay, Sarkar, Howlader & Balasubramanian, "Grad-CAM++: Improved Visual Explanations for
Deep Convolutional Networks", WACV 2018, https://arxiv.org/abs/1710.11063.

``w_k = sum_ij alpha_kij ReLU(g_kij)`` with ``alpha = g^2 / (2 g^2 + sum_ab A_kab g^3)`` (eq. 19,
under the paper's exponential-score assumption), so locations with positive gradient count
individually instead of being averaged away.
"""

from __future__ import annotations

import numpy as np

from explainers._base import MethodInfo
from explainers.gradcam import ClassActivationMap


class GradCAMPlusPlus(ClassActivationMap):
    info = MethodInfo(
        name="gradcam_plus_plus",
        family="cam",
        label="Grad-CAM++",
        description="Grad-CAM weighting each location's positive gradient: better with several objects.",
        signed=False,
        needs_conv_layer=True,
        paper="Chattopadhay et al., 2018",
        misleads_when="Same coarse resolution as Grad-CAM; its weights rest on an assumption about the "
        "score (exponential) that real networks only roughly meet.",
        default_passes=1,
    )

    def weights(self, activations, gradients, request, **options):
        squared, cubed = gradients**2, gradients**3
        denominator = 2.0 * squared + activations.sum(axis=(0, 1)) * cubed
        alphas = np.divide(squared, denominator, out=np.zeros_like(squared), where=denominator != 0)
        return (alphas * np.maximum(gradients, 0.0)).sum(axis=(0, 1))
