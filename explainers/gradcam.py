"""Grad-CAM: class activation maps weighted by pooled gradients.

Selvaraju, Cogswell, Das, Vedantam, Parikh & Batra, "Grad-CAM: Visual Explanations from Deep
Networks via Gradient-based Localization", ICCV 2017, https://arxiv.org/abs/1610.02391.

:class:`ClassActivationMap` owns the shared work (activations and gradients at a conv layer,
the weighted sum over channels, ReLU, and bilinear upsampling to the input); a CAM variant only
overrides :meth:`ClassActivationMap.channel_weights`.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from explainers._base import Method, MethodInfo


class ClassActivationMap(Method):
    """Template for the CAM family: ``ReLU(sum_k w_k A_k)`` upsampled to the input."""

    def channel_weights(self, activations: np.ndarray, gradients: np.ndarray) -> np.ndarray:
        """Weights (K,) for the layer's channels, from its (h, w, K) activations and gradients."""
        raise NotImplementedError

    def attribute(self, graph, inputs, target, layer, progress):
        if layer is None:
            raise ValueError(f"{self.info.label} needs a layer with a spatial (4-D) output")
        fn = graph.layer_gradient_fn(layer)
        scores, activations, gradients = fn(tf.constant(inputs[None]), tf.constant(target))
        activations, gradients = activations.numpy()[0], gradients.numpy()[0]
        cam = np.maximum((activations * self.channel_weights(activations, gradients)).sum(axis=-1), 0.0)
        upsampled = tf.image.resize(cam[..., None], inputs.shape[:2], method="bilinear").numpy()[..., 0]
        return upsampled.astype(np.float32), {
            "score": float(scores.numpy()[0]),
            "options": {"layer_resolution": list(cam.shape)},
        }


class GradCAM(ClassActivationMap):
    info = MethodInfo(
        name="gradcam",
        label="Grad-CAM",
        description="Where the chosen conv layer saw evidence for the class (coarse heatmap).",
        signed=False,
        needs_conv_layer=True,
        paper="Selvaraju et al., 2017",
        misleads_when="Resolution is that of the layer (7x7 for the last block here), so small "
        "structures blur; the ReLU hides evidence against the class.",
        default_passes=1,
    )

    def channel_weights(self, activations, gradients):
        return gradients.mean(axis=(0, 1))
