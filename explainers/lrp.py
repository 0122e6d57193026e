"""Layer-wise Relevance Propagation, with rules chosen per layer by a composite.

Bach, Binder, Montavon, Klauschen, Müller & Samek, "On Pixel-Wise Explanations for Non-Linear Classifier
Decisions by Layer-Wise Relevance Propagation", PLOS ONE 2015, https://doi.org/10.1371/journal.pone.0130140;
composites as in Montavon, Binder, Lapuschkin, Samek & Müller, "Layer-Wise Relevance Propagation: An Overview",
2019, and zennit (Anders et al., 2021).

The class score (its logit) is the relevance at the top; each layer hands its relevance down to its inputs in
proportion to their contributions, by the rule the composite gives it (``explainers._rules.COMPOSITES``). The
default, ``epsilon_plus_flat``, spreads the first layer's relevance evenly over each receptive field, uses z+
(positive contributions only) in the convolutions and epsilon in the dense layers, after folding each batch
norm into the layer before it. One forward and one backward pass. Relevance is conserved layer to layer except
where a rule absorbs some (epsilon, biases): the map's sum against the score is reported as its conservation
error. A model with a layer no rule covers gets an error naming that layer, never a map.
"""

from __future__ import annotations

import numpy as np

from explainers._base import Method, MethodInfo
from explainers._rules import COMPOSITES, UnsupportedLayerError, lrp_unsupported

DEFAULT_COMPOSITE = "epsilon_plus_flat"


class LRP(Method):
    info = MethodInfo(
        name="lrp",
        family="relevance",
        label="LRP",
        description="The class score handed back layer by layer to the pixels that contributed to it.",
        signed=True,
        needs_conv_layer=False,
        paper="Bach et al., 2015; Montavon et al., 2019",
        misleads_when="The map depends on the rules chosen per layer (the composite, named in the caption); "
        "z+ rules show where evidence is, not how the score would change, and barely react to the class.",
        default_passes=1,
        units="score",
    )

    def unavailable(self, graph):
        reason = lrp_unsupported(graph.model, skip=graph.squashing_layer)
        return None if reason is None else f"{reason}: LRP cannot explain this model"

    def attribute(self, request, *, composite=DEFAULT_COMPOSITE):
        if composite not in COMPOSITES:
            raise ValueError(f"unknown LRP composite {composite!r}; choose from {', '.join(COMPOSITES)}")
        try:
            results = request.graph.rule_pass(request.inputs[None], request.target, COMPOSITES[composite])
        except UnsupportedLayerError as error:  # unavailable() reads the same rules, so this is a safety net
            raise ValueError(f"{error}: LRP cannot explain this model") from None
        score = float(results["scores"][0])
        attribution = results["relevance"][0].sum(axis=-1).astype(np.float32)
        error = float(abs(attribution.sum(dtype=np.float64) - score))
        return attribution, {
            "score": score,
            "completeness_error": error,
            "completeness_relative": error / abs(score) if score else None,
            "options": {"composite": composite},
        }
