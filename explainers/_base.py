"""The shape every attribution method shares: its metadata, its result, and its entry point."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from explainers._graph import ModelGraph

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class MethodInfo:
    """What a UI needs to know about a method without running it."""

    name: str
    label: str
    description: str
    signed: bool
    needs_conv_layer: bool
    paper: str
    misleads_when: str
    default_passes: int
    """Forward+backward passes at the default settings: lets a UI run cheap methods first."""


@dataclass
class Explanation:
    """One attribution map and how it was made.

    ``attribution`` is float32 (H, W) at input resolution and is not normalised. ``score`` is
    the value that was explained (see ``score_kind``: the logit before a final softmax, or the
    model's raw output). For Integrated Gradients, ``completeness_error`` is
    ``|sum(attribution) - (f(x) - f(baseline))|`` and ``completeness_relative`` divides it by
    ``|f(x) - f(baseline)|``.
    """

    method: str
    target: int
    layer: str | None
    attribution: np.ndarray
    elapsed_s: float
    score: float
    score_kind: str
    options: dict = field(default_factory=dict)
    completeness_error: float | None = None
    completeness_relative: float | None = None

    @property
    def info(self) -> MethodInfo:
        from explainers import METHODS

        return METHODS[self.method]


class Method:
    """Base class: a method declares ``info`` and implements :meth:`attribute`."""

    info: ClassVar[MethodInfo]

    def option_names(self) -> tuple[str, ...]:
        """The keyword options this method accepts (e.g. ``samples``, ``steps``)."""
        parameters = inspect.signature(self.attribute).parameters.values()
        return tuple(p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY)

    def attribute(
        self,
        graph: ModelGraph,
        inputs: np.ndarray,
        target: int,
        layer: str | None,
        progress: ProgressCallback | None,
        **options,
    ) -> tuple[np.ndarray, dict]:
        """Return the (H, W) attribution and any extra fields for :class:`Explanation`."""
        raise NotImplementedError


def max_abs_over_channels(per_channel: np.ndarray) -> np.ndarray:
    """Reduce an (H, W, C) gradient map to (H, W) as Simonyan et al. do: the largest magnitude."""
    return np.abs(per_channel).max(axis=-1).astype(np.float32)
