"""The shape every attribution method shares: its metadata, its result, and its entry point."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from explainers._graph import ModelGraph

ProgressCallback = Callable[[int, int], None]


FAMILIES = {
    "gradient": "Gradient",
    "reference": "Reference",
    "cam": "CAM",
    "relevance": "Relevance",
    "perturbation": "Perturbation",
}
"""Method families, in the order a picker shows them: gradients of the score; methods that compare with a
reference input (path integrals, DeepLIFT); class activation maps of a conv layer; relevance propagated down
the layers; perturbations of the input with forward passes only."""


UNITS = {
    "score": "the explained score (a logit, or the model's output): each pixel's additive share of it",
    "probability": "the class probability",
    "relative": "units of the model's input or of a layer's activations, which differ between models",
}
"""What a map's values are measured in. Maps of two models share a scale only in score or probability units."""


@dataclass(frozen=True)
class MethodInfo:
    """What a UI needs to know about a method without running it."""

    name: str
    family: str
    """A key of :data:`FAMILIES`: how the method works, which a picker groups by."""
    label: str
    description: str
    signed: bool
    needs_conv_layer: bool
    paper: str
    misleads_when: str
    default_passes: int
    """Forward(+backward) passes at the default settings: lets a UI run cheap methods first."""
    passes_randomization_check: bool = True
    """Adebayo et al. 2018 ("Sanity Checks for Saliency Maps"): does the map change when the
    model's weights are randomised? Methods that fail it can show edges whatever the model learned."""
    uses_baseline: bool = False
    """Whether the method compares against a baseline image (``explain(baseline=...)``)."""
    stochastic: bool = False
    """Whether the map is estimated from random samples: it then reports its split-half ``reliability``
    and takes a ``seed``."""
    units: str = "relative"
    """A key of :data:`UNITS`: what one unit of the map is, which says whether two models' maps can share a
    colour scale."""


@dataclass
class Explanation:
    """One attribution map and how it was made.

    ``attribution`` is float32 (H, W) at input resolution and is not normalised. ``score`` is
    the value that was explained (see ``score_kind``: the logit before a final softmax, or the
    model's raw output). For Integrated Gradients, ``completeness_error`` is
    ``|sum(attribution) - (f(x) - f(baseline))|`` and ``completeness_relative`` divides it by
    ``|f(x) - f(baseline)|``. For stochastic methods, ``reliability`` is the split-half reliability of the
    map (Spearman-Brown corrected): the correlation expected with a rerun on fresh noise. ``passes``
    counts the model evaluations it took. When methods shared one pass (``options["shared_pass_with"]``),
    ``elapsed_s`` includes that whole pass for each.
    """

    method: str
    target: int
    layer: str | None
    attribution: np.ndarray
    elapsed_s: float
    score: float
    score_kind: str
    passes: int = 1
    options: dict = field(default_factory=dict)
    completeness_error: float | None = None
    completeness_relative: float | None = None
    reliability: float | None = None
    segments: np.ndarray | None = None
    """For methods on superpixels (LIME, Kernel SHAP): each pixel's segment, (H, W) int32."""

    @property
    def info(self) -> MethodInfo:
        from explainers import METHODS

        return METHODS[self.method]


@dataclass
class Request:
    """One attribution request, as the methods see it."""

    graph: ModelGraph
    inputs: np.ndarray
    target: int
    layer: str | None
    baseline: np.ndarray
    progress: ProgressCallback | None = None
    shared: dict | None = None
    """Results of one pass shared by several single-pass methods (see :class:`SinglePassMethod`)."""


class Method:
    """Base class: a method declares ``info`` and implements :meth:`attribute`."""

    info: ClassVar[MethodInfo]

    def option_names(self) -> tuple[str, ...]:
        """The keyword options this method accepts (e.g. ``samples``, ``steps``)."""
        return tuple(self.defaults())

    def attribute(self, request: Request) -> tuple[np.ndarray, dict]:
        """Return the (H, W) attribution and extra :class:`Explanation` fields (``score`` at least)."""
        raise NotImplementedError

    def unavailable(self, graph: ModelGraph) -> str | None:
        """Why this method cannot explain the model at all (checked before any work), or None."""
        return None

    def estimated_passes(self, input_shape: tuple[int, ...], layer_channels: int | None, **options) -> int:
        """Model evaluations at these settings (an upper bound where the method adapts)."""
        return self.info.default_passes

    def replay_options(self, used: dict, passes: int) -> dict:
        """Options that redo an explanation (its ``options``, ``passes``) on another model with no more passes.

        The randomisation check uses them: an adaptive method would otherwise refine much longer on a
        random network than it did on the trained one.
        """
        return {name: value for name, value in used.items() if name in self.option_names()}

    def defaults(self) -> dict:
        """The default value of each option."""
        parameters = inspect.signature(self.attribute).parameters.values()
        return {p.name: p.default for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY}


class SampledMethod(Method):
    """A method estimated from random samples, drawn in rounds until its map is reproducible (see
    :func:`explainers._reliability.sample_in_rounds`): its ``options`` record the samples drawn under
    ``count_option``, the count it started from under ``initial_<count_option>``, and the cap."""

    count_option: ClassVar[str] = "samples"
    cap_option: ClassVar[str] = "max_samples"
    fixed_passes: ClassVar[int] = 0
    """Model passes besides the samples (the unperturbed image, everything hidden)."""

    def estimated_passes(self, input_shape: tuple[int, ...], layer_channels: int | None, **options) -> int:
        settings = self.defaults() | options
        count = int(settings[self.count_option])
        if settings["reliability_target"] is not None:
            count = max(count, int(settings[self.cap_option]))
        return count + self.fixed_passes

    def replay_options(self, used: dict, passes: int) -> dict:
        samples = passes - self.fixed_passes
        initial = min(used[f"initial_{self.count_option}"], samples)
        return super().replay_options(used, passes) | {self.count_option: initial, self.cap_option: samples}


class SinglePassMethod(Method):
    """A method built on one forward(+backward) pass; methods asked together share that pass.

    Subclasses say what they need from the pass (``input_gradients``, ``layer_activations``,
    ``layer_gradients``, ``guided``) and turn its results into a map in :meth:`from_pass`.
    """

    input_gradients: ClassVar[bool] = False
    layer_activations: ClassVar[bool] = False
    layer_gradients: ClassVar[bool] = False
    guided: ClassVar[bool] = False

    def needs(self, layer: str | None) -> dict:
        uses_layer = self.layer_activations or self.layer_gradients
        return {
            "layer": layer if uses_layer else None,
            "input_gradients": self.input_gradients,
            "layer_gradients": self.layer_gradients,
            "guided": self.guided,
        }

    def attribute(self, request: Request, **options) -> tuple[np.ndarray, dict]:
        results = request.shared
        if results is None:
            results = request.graph.single_pass(request.inputs, request.target, **self.needs(request.layer))
        attribution, extra = self.from_pass(results, request, **options)
        return attribution, {"score": float(results["scores"][0]), **extra}

    def from_pass(self, results: dict[str, np.ndarray], request: Request, **options) -> tuple[np.ndarray, dict]:
        """The attribution from one pass's results (each array has a leading batch axis of 1)."""
        raise NotImplementedError


def max_abs_over_channels(per_channel: np.ndarray) -> np.ndarray:
    """Reduce (..., H, W, C) maps to (..., H, W) as Simonyan et al. do: the largest magnitude.

    Element-wise maxima over the channels: numpy's ``max(axis=-1)`` over a 3-wide last axis was 13x
    slower, and SmoothGrad calls this on every batch of samples.
    """
    magnitude = np.abs(per_channel)
    largest = magnitude[..., 0].copy()
    for channel in range(1, magnitude.shape[-1]):
        np.maximum(largest, magnitude[..., channel], out=largest)
    return largest.astype(np.float32, copy=False)


def upsample(maps: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of (h, w) or (h, w, K) maps to ``size``."""
    import tensorflow as tf

    squeeze = maps.ndim == 2
    resized = tf.image.resize(maps[..., None] if squeeze else maps, size, method="bilinear").numpy()
    return (resized[..., 0] if squeeze else resized).astype(np.float32)
