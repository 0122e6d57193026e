"""What LIME and Kernel SHAP share: superpixels, hidden-segment fills, coalitions run through the model.

Both explain the class probability of the image as a function of which superpixels are shown: a coalition
``z`` in {0, 1}^M shows the segments where ``z`` is 1 and fills the others (with the baseline, black in the
model's input space, or a blur of the image). Coalitions are evaluated a batch at a time through the compiled
forward pass, so a round of thousands never holds thousands of images. Each method then fits its own weighted
linear model; the per-pixel map is each segment's weight. Samples are dealt into two halves so that each map
reports its split-half reliability, and are drawn in rounds until it reaches the target (see
:func:`explainers._reliability.sample_in_rounds`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import ndimage
from skimage import segmentation

from explainers._base import SampledMethod
from explainers._reliability import DEFAULT_RELIABILITY_TARGET, first_half_count

SEGMENTATIONS = ("slic", "quickshift")
FILLS = ("baseline", "blur")


def superpixels(inputs: np.ndarray, method: str = "slic", segments: int = 50) -> np.ndarray:
    """Segment labels (H, W), 0..M-1, computed on the image scaled to 0..1 (the model's input space is an
    affine map of the pixels, per channel, for the models here; segmentation needs only relative colours).

    ``slic``: k-means in colour and position, about ``segments`` compact regions (Achanta et al., 2012).
    ``quickshift``: mode seeking, as LIME's own default (Vedaldi & Soatto, 2008); ``segments`` is ignored."""
    if method not in SEGMENTATIONS:
        raise ValueError(f"unknown segmentation {method!r}; choose from {', '.join(SEGMENTATIONS)}")
    low, high = inputs.min(axis=(0, 1)), inputs.max(axis=(0, 1))
    scaled = ((inputs - low) / np.where(high > low, high - low, 1.0)).astype(np.float64)
    if method == "slic":
        channels = scaled[..., :3] if scaled.shape[-1] >= 3 else scaled[..., 0]
        labels = segmentation.slic(
            channels,
            n_segments=int(segments),
            compactness=10.0 if channels.ndim == 3 else 0.1,
            start_label=0,
            channel_axis=-1 if channels.ndim == 3 else None,
        )
    else:
        rgb = scaled[..., :3] if scaled.shape[-1] >= 3 else np.repeat(scaled[..., :1], 3, axis=-1)
        labels = segmentation.quickshift(rgb, kernel_size=4, max_dist=200, ratio=0.2, convert2lab=True)
    return np.unique(labels, return_inverse=True)[1].reshape(labels.shape).astype(np.int32)


def filled(inputs: np.ndarray, baseline: np.ndarray, fill: str) -> np.ndarray:
    """What hidden segments show: the baseline, or the image blurred (Gaussian, sigma 5 % of its size)."""
    if fill not in FILLS:
        raise ValueError(f"unknown fill {fill!r}; choose from {', '.join(FILLS)}")
    if fill == "baseline":
        return baseline
    sigma = 0.05 * max(inputs.shape[:2])
    return ndimage.gaussian_filter(inputs, sigma=(sigma, sigma, 0), mode="nearest").astype(np.float32)


class Coalitions:
    """Runs coalitions of segments through the model and returns the class evidence of each."""

    def __init__(self, request, labels: np.ndarray, fill: np.ndarray, memory_budget_bytes: int | None):
        self.request, self.labels, self.fill = request, labels, fill
        self.count = int(labels.max()) + 1
        self.memory_budget_bytes = memory_budget_bytes

    def evaluate(self, coalitions: np.ndarray, on_batch: Callable[[int], None] | None = None) -> np.ndarray:
        """Class evidence (N,) for coalitions (N, M) of 0/1, batch by batch."""
        graph, inputs = self.request.graph, self.request.inputs
        step = graph.batch_size(len(coalitions), self.memory_budget_bytes)
        values = np.empty(len(coalitions), np.float64)
        for start in range(0, len(coalitions), step):
            chunk = coalitions[start : start + step]
            shown = chunk[:, self.labels].astype(bool)[..., None]  # (n, H, W, 1)
            images = np.where(shown, inputs[None], self.fill[None]).astype(np.float32)
            (batch,) = graph.batched(images, self.request.target, self.memory_budget_bytes)
            values[start : start + len(chunk)] = class_evidence(graph, batch["outputs"], self.request.target)
            if on_batch is not None:
                on_batch(start + len(chunk))
        return values

    def report(self, done: int, total: int) -> None:
        """Progress of the request, in samples."""
        if self.request.progress is not None:
            self.request.progress(done, total)

    def pixel_map(self, weights: np.ndarray) -> np.ndarray:
        """Each pixel gets its segment's weight."""
        return np.asarray(weights, np.float32)[self.labels]


def class_evidence(graph, outputs: np.ndarray, target: int) -> np.ndarray:
    """The class probability (softmax of logits, or the sigmoid), or the raw output of a single-score model."""
    if graph.output_kind == "score":
        return outputs[:, target].astype(np.float64)
    return graph.probabilities(outputs)[:, target].astype(np.float64)


class SampleHalves:
    """Coalitions and their values, dealt into two halves as they are drawn (see ``first_half_count``)."""

    def __init__(self, pairs: bool = False) -> None:
        self.parts: tuple[list, list] = ([], [])
        self.pairs = pairs
        """Keep a coalition and the next one (its complement) in the same half."""

    def count(self, half: int) -> int:
        return sum(len(values) for _, values in self.parts[half])

    def deal(self, coalitions: np.ndarray, values: np.ndarray) -> None:
        cut = first_half_count(len(values), self.count(0), self.count(1))
        cut = min(cut + cut % 2, len(values)) if self.pairs else cut
        for half, part in ((0, slice(None, cut)), (1, slice(cut, None))):
            if len(values[part]):
                self.parts[half].append((coalitions[part], values[part]))

    def samples(self, *halves: int) -> tuple[np.ndarray, np.ndarray]:
        """The coalitions and values of these halves (both by default), concatenated."""
        chosen = [pair for half in (halves or (0, 1)) for pair in self.parts[half]]
        return np.concatenate([c for c, _ in chosen]), np.concatenate([v for _, v in chosen])


class SuperpixelMethod(SampledMethod):
    """LIME and Kernel SHAP: the same options and set-up; each weighs the segments its own way in
    :meth:`segment_weights`."""

    fixed_passes = 1  # the unperturbed image

    def segment_weights(
        self, runner: Coalitions, whole: float, rng: np.random.Generator, sampling: dict
    ) -> tuple[np.ndarray, dict]:
        """One weight per segment, and the explanation's fields (``passes``, ``reliability``, ``options``...).

        ``whole`` is the class evidence of the unperturbed image; ``sampling`` holds ``samples``,
        ``max_samples`` and ``reliability_target``."""
        raise NotImplementedError

    def attribute(
        self,
        request,
        *,
        samples=256,
        segments=50,
        segmentation="slic",
        fill="baseline",
        seed=0,
        reliability_target=DEFAULT_RELIABILITY_TARGET,
        max_samples=1000,
        memory_budget_bytes=None,
    ):
        if samples < 4:
            raise ValueError(f"{self.info.label} needs at least 4 samples")
        labels = superpixels(request.inputs, segmentation, segments)
        runner = Coalitions(request, labels, filled(request.inputs, request.baseline, fill), memory_budget_bytes)
        unperturbed = request.graph.single_pass(request.inputs, request.target)
        whole = float(class_evidence(request.graph, unperturbed["outputs"], request.target)[0])
        sampling = {"samples": samples, "max_samples": max_samples, "reliability_target": reliability_target}
        weights, found = self.segment_weights(runner, whole, np.random.default_rng(seed), sampling)
        options = {
            "initial_samples": samples,
            "max_samples": max_samples,
            "reliability_target": reliability_target,
            "segments": runner.count,
            "segmentation": segmentation,
            "fill": fill,
            "seed": seed,
        }
        return runner.pixel_map(weights), found | {
            "score": float(unperturbed["scores"][0]),
            "segments": labels,
            "options": options | found.get("options", {}),
        }
