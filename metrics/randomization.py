"""Cascading model-parameter randomisation: does the map depend on what the model learned?

Adebayo, Gilmer, Muelly, Goodfellow, Hardt & Kim, "Sanity Checks for Saliency Maps", NeurIPS 2018,
https://arxiv.org/abs/1810.03292.

A private copy of the model (the shared, cached model is never touched) has its weights
re-initialised with each layer's own initializers, from the top (the logits) down, in stages of
whole architecture blocks; after each stage the same method explains the same image and class
again. A map that reflects the learned function changes as the weights go; a map that stays the
same shows something else (edges of the image, say). Similarity to the original map is the Spearman
rank correlation of |map| (and SSIM of |map|, as in the paper).

Pass or fail: a method **passes** when the mean Spearman correlation of |map| with the original,
over the stages, stays below :data:`PASS_BELOW` (0.6). The mean over the cascade is used, not the last
stage alone, because Adebayo et al.'s finding is about the top layers: Guided Backprop ignores them
and only changes once the low-level filters go, while a map of a fully random network can resemble
the original by chance (Grad-CAM swung between -0.5 and 0.54 from stage to stage). The paper draws no
line; 0.6 is ours, midway between the two groups measured on the bundled EfficientNet-Lite0 (coffee
and cat photos, 5 stages): Guided Backprop 0.68-0.72; saliency, Gradient x Input, Integrated
Gradients, Grad-CAM and Guided Grad-CAM -0.05-0.46. SmoothGrad sat at 0.50-0.55, close to the line:
averaging |gradient| over noise keeps more of the image's edges.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np

import explainers
from metrics._base import MetricInfo
from metrics.similarity import spearman, ssim
from models.layers import describe_layers, find_layer

DEFAULT_STAGES = 5
PASS_BELOW = 0.6

RANDOMIZATION = MetricInfo(
    name="randomization",
    label="Model-randomisation check",
    paper="Adebayo et al., 2018",
    better="lower",
    value_range=(-1.0, 1.0),
    cost=f"the method's own cost, {DEFAULT_STAGES} times (once per stage), plus a copy of the model",
    reading="How similar the map stays, on average over the stages, when the model's learned weights are "
    f"replaced by random ones from the top down (near 1 = the map does not depend on what the model "
    f"learned; it passes below {PASS_BELOW}).",
)


@dataclass(frozen=True)
class Stage:
    label: str
    """What is random after this stage, e.g. ``top 3 of 9 blocks (from head)``."""
    blocks: tuple[str, ...]
    """The blocks newly randomised at this stage."""


@dataclass(frozen=True)
class RandomizationResult:
    method: str
    stages: tuple[str, ...]
    """``original`` then one label per stage, each cumulative."""
    maps: tuple[np.ndarray, ...]
    spearman: tuple[float, ...]
    """Spearman rank correlation of |map| with the original, per entry of ``stages``."""
    ssim: tuple[float, ...]
    seconds: float

    @property
    def mean_similarity(self) -> float:
        """Mean Spearman similarity over the randomised stages (the original itself left out)."""
        return float(np.mean(self.spearman[1:]))

    @property
    def applicable(self) -> bool:
        """False when the original map is constant: it ranks no pixel above another, so there is nothing to lose."""
        return bool(np.ptp(self.maps[0]) > 0)

    @property
    def passed(self) -> bool | None:
        """None when the check cannot judge the map (see :attr:`applicable`)."""
        return self.mean_similarity < PASS_BELOW if self.applicable else None


def _weighted_blocks(model: keras.Model, count: int) -> list[tuple[str, list[str]]]:
    """(block, layer paths with weights) in graph order, for blocks that have weights.

    A model with fewer named blocks than stages (a small CNN with plain layer names) is cut layer by layer.
    """
    blocks: dict[str, list[str]] = {}
    weighted = [info for info in describe_layers(model) if info.parameters]
    for info in weighted:
        blocks.setdefault(info.block, []).append(info.path)
    if len(blocks) < count:
        return [(info.path, [info.path]) for info in weighted]
    return list(blocks.items())


def cascading_stages(model: keras.Model, count: int = DEFAULT_STAGES) -> list[tuple[Stage, list[str]]]:
    """Up to ``count`` cumulative stages from the top block down to the first, with the layers each adds.

    The first stage is the top block alone (the logits); the last randomises every block; the ones
    between are spread evenly over the blocks.
    """
    blocks = _weighted_blocks(model, count)[::-1]
    if not blocks:
        raise ValueError("the model has no weights to randomise")
    cuts = sorted({max(1, round(1 + i * (len(blocks) - 1) / max(count - 1, 1))) for i in range(count)})
    stages, previous = [], 0
    for cut in cuts:
        added = blocks[previous:cut]
        name = (
            "top block" if cut == 1 else "every block" if cut == len(blocks) else f"top {cut} of {len(blocks)} blocks"
        )
        label = f"{name} (down to {added[-1][0]})"
        stages.append((Stage(label, tuple(b for b, _ in added)), [path for _, paths in added for path in paths]))
        previous = cut
    return stages


def private_copy(model: keras.Model) -> keras.Model:
    """A new model with the same architecture and weights that shares no variable with ``model``."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy


def _initializer(layer: keras.layers.Layer, variable_name: str):
    """The layer's own initializer for one of its variables (``kernel`` -> ``kernel_initializer``)."""
    for attribute in (f"{variable_name}_initializer", f"{variable_name.removesuffix('_kernel')}_initializer"):
        initializer = getattr(layer, attribute, None)
        if initializer is not None:
            return keras.initializers.get(initializer)
    return None


def _seeded(initializer, seed: int):
    config = initializer.get_config()
    if "seed" not in config:
        return initializer
    return type(initializer).from_config(config | {"seed": seed})


def randomize_layers(model: keras.Model, paths: list[str], seed: int) -> None:
    """Re-initialise every variable of these layers in place, each with its layer's own initializer.

    A variable with no initializer of its own (rare: custom layers) gets Glorot-uniform if it is a
    matrix or kernel, zeros otherwise.
    """
    for index, path in enumerate(paths):
        layer = find_layer(model, path)
        for number, variable in enumerate(layer.weights):
            name = variable.name.rsplit("/", 1)[-1]
            initializer = _initializer(layer, name)
            if initializer is None:
                initializer = keras.initializers.GlorotUniform() if len(variable.shape) >= 2 else "zeros"
                initializer = keras.initializers.get(initializer)
            initializer = _seeded(initializer, seed * 100_003 + index * 101 + number)
            variable.assign(initializer(tuple(variable.shape), dtype=variable.dtype))


def randomization_check(
    model: keras.Model,
    inputs: np.ndarray,
    explanation: explainers.Explanation,
    *,
    baseline: np.ndarray | None = None,
    stages: int = DEFAULT_STAGES,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> RandomizationResult:
    """Cascading randomisation of a private copy of ``model``: ``explanation`` (its method, class, layer
    and settings) redone after each stage, each time in at most the passes it took on the trained model.

    ``progress(done, total)`` counts stages.
    """
    started = time.perf_counter()
    plan = cascading_stages(model, stages)
    copy = private_copy(model)
    options = explainers.replay_options(explanation)
    maps, labels = [np.asarray(explanation.attribution, np.float32)], ["original"]
    for number, (stage, paths) in enumerate(plan, start=1):
        randomize_layers(copy, paths, seed + number)
        randomized = explainers.explain(
            copy,
            inputs,
            explanation.method,
            target=explanation.target,
            layer=explanation.layer,
            baseline=baseline,
            **options,
        )
        maps.append(randomized.attribution)
        labels.append(stage.label)
        if progress is not None:
            progress(number, len(plan))
    return RandomizationResult(
        method=explanation.method,
        stages=tuple(labels),
        maps=tuple(maps),
        spearman=tuple(spearman(maps[0], m) for m in maps),
        ssim=tuple(ssim(maps[0], m) for m in maps),
        seconds=time.perf_counter() - started,
    )


def stage_count(model: keras.Model, stages: int = DEFAULT_STAGES) -> int:
    """How many stages :func:`randomization_check` runs on this model (fewer when it has fewer blocks)."""
    return len(cascading_stages(model, stages))
