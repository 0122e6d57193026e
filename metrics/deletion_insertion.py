"""Deletion and insertion: does removing the pixels a map ranks first remove the class?

Petsiuk, Das & Saenko, "RISE: Randomized Input Sampling for Explanation of Black-box Models",
BMVC 2018, https://arxiv.org/abs/1806.07421 (its evaluation code, eclique/RISE).

Pixels are ordered by attribution, highest first (signed maps by their signed value, so evidence
against the class comes last; all channels of a pixel move together). In 64 equal steps:

- deletion replaces them with the model's black image, starting from the image;
- insertion puts them back into a blurred copy (sigma 5 px at 224, an 11-tap kernel as in the
  RISE code, both scaled with the image size), ending at the image.

Each step records the target class's probability (the softmax of the logits, or the sigmoid of a
binary or multi-label output; a model with one unbounded score records that score). The area under
each curve, by the trapezoid rule over the removed fraction 0..1, summarises it: lower deletion and
higher insertion are better. The two curves share the unmodified image, so a map costs 129 forward
passes. Ties in the map are broken by a seeded random order, so a map with no information (a
constant) gives exactly the curves of a random order: that is :func:`random_curves`, the chance
baseline. Random deletion is a hard baseline: deleting random pixels destroys the class quickly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np
from scipy import ndimage

import explainers
from metrics._base import MetricInfo

STEPS = 64
BLUR_SIGMA_AT_224 = 5.0
BLUR_RADIUS_AT_224 = 5  # the RISE code's 11-tap kernel

_PROTOCOL = {
    "paper": "Petsiuk et al., 2018",
    "value_range": (0.0, 1.0),
    "cost": f"{2 * STEPS + 1} forward passes a map",
}
DELETION = MetricInfo(
    name="deletion_auc",
    label="Deletion AUC",
    better="lower",
    **_PROTOCOL,
    reading="How fast the class's probability falls as the pixels the map ranks first are blacked out "
    "(lower = the map found pixels the model needs).",
)
INSERTION = MetricInfo(
    name="insertion_auc",
    label="Insertion AUC",
    better="higher",
    **_PROTOCOL,
    reading="How fast the class's probability returns as the pixels the map ranks first are restored "
    "into a blurred copy (higher = those pixels alone carry the class).",
)


@dataclass(frozen=True)
class Curves:
    """The target's probability (or score) after each step, for deletion and insertion."""

    fractions: np.ndarray
    """Fraction of pixels removed (deletion) or restored (insertion): 0, 1/64, ..., 1."""
    deletion: np.ndarray
    insertion: np.ndarray
    value_kind: str
    """``probability`` or, for a model with one unbounded score, ``score``."""

    @property
    def deletion_auc(self) -> float:
        return float(np.trapezoid(self.deletion, self.fractions))

    @property
    def insertion_auc(self) -> float:
        return float(np.trapezoid(self.insertion, self.fractions))


def pixel_order(attribution: np.ndarray, seed: int = 0) -> np.ndarray:
    """Flat pixel indices, highest attribution first; ties in a seeded random order."""
    values = np.asarray(attribution, np.float64).ravel()
    tie_break = np.random.default_rng(seed).permutation(values.size)
    return np.lexsort((tie_break, -values))


def blurred(inputs: np.ndarray) -> np.ndarray:
    """The insertion start: a Gaussian blur of the input, per channel, sized to the image.

    Every preprocessing preset is affine per channel, so blurring the model input equals blurring
    the pixels and then preprocessing them.
    """
    scale = inputs.shape[0] / 224
    sigma = BLUR_SIGMA_AT_224 * scale
    radius = max(1, round(BLUR_RADIUS_AT_224 * scale))
    return ndimage.gaussian_filter(inputs, sigma=(sigma, sigma, 0), truncate=radius / sigma, mode="nearest")


def _values(model: keras.Model, outputs: np.ndarray, target: int) -> tuple[np.ndarray, str]:
    probabilities = explainers.probabilities(model, outputs)
    if probabilities is None:
        return outputs[:, target].astype(np.float64), "score"
    return probabilities[:, target].astype(np.float64), "probability"


def curves(
    model: keras.Model,
    inputs: np.ndarray,
    attribution: np.ndarray,
    target: int,
    black: np.ndarray,
    *,
    seed: int = 0,
    memory_budget_bytes: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Curves:
    """Deletion and insertion curves of ``attribution`` (H, W) for ``inputs`` (H, W, C) in model space.

    ``black`` is the model's black image (the deletion fill), e.g. ``ModelSource.black_image()``.
    """
    inputs = np.asarray(inputs, np.float32)
    height, width = inputs.shape[:2]
    if attribution.shape != (height, width):
        raise ValueError(f"the map is {attribution.shape}, the image {(height, width)}")
    rank = np.empty(height * width, np.int64)
    rank[pixel_order(attribution, seed)] = np.arange(height * width)
    rank = rank.reshape(height, width)
    counts = np.round(np.linspace(0, height * width, STEPS + 1)).astype(np.int64)
    start = blurred(inputs)
    black = np.broadcast_to(np.asarray(black, np.float32), inputs.shape)
    # Deletion at 0..64, then insertion at 0..63: insertion at 64 is the image itself, deletion's first point.
    plan = [(black, inputs, count) for count in counts] + [(inputs, start, count) for count in counts[:-1]]
    batch = explainers.batch_size(model, len(plan), memory_budget_bytes)
    values = []
    for first in range(0, len(plan), batch):
        chunk = plan[first : first + batch]
        images = np.stack([np.where((rank < count)[..., None], fill, base) for fill, base, count in chunk])
        chunk_values, kind = _values(model, explainers.predict(model, images, memory_budget_bytes), target)
        values.append(chunk_values)
        if progress is not None:
            progress(min(first + batch, len(plan)), len(plan))
    values = np.concatenate(values)
    deletion = values[: STEPS + 1]
    insertion = np.append(values[STEPS + 1 :], deletion[0])
    return Curves(counts / (height * width), deletion, insertion, kind)


def random_curves(model: keras.Model, inputs: np.ndarray, target: int, black: np.ndarray, **options) -> Curves:
    """The chance baseline: the curves of a random pixel order (a map with no information).

    ``options`` are :func:`curves`' (``seed``, ``memory_budget_bytes``, ``progress``).
    """
    return curves(model, inputs, np.zeros(np.shape(inputs)[:2], np.float32), target, black, **options)
