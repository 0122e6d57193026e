"""Grad-CAM: class activation maps weighted by pooled gradients.

Selvaraju, Cogswell, Das, Vedantam, Parikh & Batra, "Grad-CAM: Visual Explanations from Deep
Networks via Gradient-based Localization", ICCV 2017, https://arxiv.org/abs/1610.02391.

:class:`ClassActivationMap` owns the shared work (activations and gradients at a conv layer,
the weighted sum over channels, ReLU, and bilinear upsampling to the input); a CAM variant only
overrides :meth:`ClassActivationMap.weights`.
"""

from __future__ import annotations

import numpy as np

from explainers._base import MethodInfo, Request, SinglePassMethod, upsample


class ClassActivationMap(SinglePassMethod):
    """Template for the CAM family: ``ReLU(sum_k w_k A_k)`` upsampled to the input."""

    layer_activations = True
    layer_gradients = True

    def weights(self, activations: np.ndarray, gradients: np.ndarray | None, request: Request, **options) -> np.ndarray:
        """Channel weights (K,), or per-location weights (h, w, K), from the layer's (h, w, K) activations."""
        raise NotImplementedError

    def from_pass(self, results, request, **options):
        activations = results["activations"][0]
        gradients = results["layer_gradients"][0] if self.layer_gradients else None
        weights = self.weights(activations, gradients, request, **options)
        cam = np.maximum((activations * weights).sum(axis=-1), 0.0)
        return upsample(cam, request.inputs.shape[:2]), {"options": {"layer_resolution": list(cam.shape)}}


class GradCAM(ClassActivationMap):
    info = MethodInfo(
        name="gradcam",
        family="cam",
        label="Grad-CAM",
        description="Where the chosen conv layer saw evidence for the class (coarse heatmap).",
        signed=False,
        needs_conv_layer=True,
        paper="Selvaraju et al., 2017",
        misleads_when="Resolution is that of the layer (7x7 for a typical last block), so small "
        "structures blur; the ReLU hides evidence against the class.",
        default_passes=1,
    )

    def weights(self, activations, gradients, request, **options):
        return gradients.mean(axis=(0, 1))
