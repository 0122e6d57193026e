"""Score-CAM: channels weighted by how much the class score keeps when the image is masked by them.

Wang, Wang, Du, Yang, Zhang, Ding, Mardziel & Hu, "Score-CAM: Score-Weighted Visual Explanations
for Convolutional Neural Networks", CVPR Workshops 2020, https://arxiv.org/abs/1910.01279.

Each channel's activation map is upsampled to the input, scaled to [0, 1] and multiplied into the
input; the channel's weight is the probability of the target class on that masked input (softmax
of the logits, or sigmoid for sigmoid outputs).
No gradients: one forward pass per channel, batched under the memory budget. ``max_channels``
keeps only the channels whose activations vary most ("Faster Score-CAM"); ``None`` uses all.
"""

from __future__ import annotations

import numpy as np

from explainers._base import MethodInfo, upsample
from explainers.gradcam import ClassActivationMap


class ScoreCAM(ClassActivationMap):
    info = MethodInfo(
        name="scorecam",
        family="cam",
        label="Score-CAM",
        description="Channels weighted by the class probability when only their region is kept.",
        signed=False,
        needs_conv_layer=True,
        paper="Wang et al., 2020",
        misleads_when="Slow (a forward pass per channel; capped here); masked images are unlike "
        "real ones, and the coarse layer resolution blurs small structures.",
        default_passes=257,
    )
    layer_gradients = False

    def attribute(self, request, *, max_channels=256, memory_budget_bytes=None):
        return super().attribute(request, max_channels=max_channels, memory_budget_bytes=memory_budget_bytes)

    def estimated_passes(self, input_shape, layer_channels, **options):
        cap = (self.defaults() | options)["max_channels"]
        channels = layer_channels or 0
        return 1 + (channels if cap is None else min(cap, channels))

    def from_pass(self, results, request, **options):
        attribution, extra = super().from_pass(results, request, **options)
        count = results["activations"].shape[-1]
        used = count if options["max_channels"] is None else min(count, options["max_channels"])
        extra["passes"] = 1 + used
        extra["options"] |= {"channels": used, "of_channels": count}
        return attribution, extra

    def weights(self, activations, gradients, request, *, max_channels=256, memory_budget_bytes=None):
        count = activations.shape[-1]
        chosen = np.arange(count)
        if max_channels is not None and max_channels < count:
            chosen = np.sort(np.argsort(-activations.std(axis=(0, 1)))[:max_channels])
        masks = upsample(activations[..., chosen], request.inputs.shape[:2])
        low, high = masks.min(axis=(0, 1)), masks.max(axis=(0, 1))
        masks = (masks - low) / np.where(high > low, high - low, 1.0)
        masked = request.inputs[None] * np.moveaxis(masks, -1, 0)[..., None]
        probabilities = np.concatenate(
            [
                request.graph.probabilities(batch["outputs"])[:, request.target]
                for batch in request.graph.batched(masked, request.target, memory_budget_bytes, request.progress)
            ]
        )
        weights = np.zeros(count, np.float32)
        weights[chosen] = probabilities
        return weights
