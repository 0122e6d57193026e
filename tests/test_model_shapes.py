"""Output kinds and input shapes beyond a 224x224 RGB softmax classifier."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import explainers
from explainers._graph import graph_for
from tests.test_explainers import FEW_SAMPLES


def classifier(input_shape, units: int, activation: str | None, *, separate_activation: bool) -> keras.Model:
    init = keras.initializers.GlorotUniform(seed=2)
    inputs = keras.Input(input_shape)
    x = keras.layers.Conv2D(6, 3, padding="same", activation="relu", kernel_initializer=init, name="conv")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    if separate_activation:
        x = keras.layers.Dense(units, kernel_initializer=init, name="logits")(x)
        outputs = keras.layers.Activation(activation, name="squash")(x)
    else:
        outputs = keras.layers.Dense(units, activation=activation, kernel_initializer=init, name="logits")(x)
    return keras.Model(inputs, outputs)


@pytest.mark.parametrize("separate_activation", [True, False])
@pytest.mark.parametrize(("units", "activation"), [(1, "sigmoid"), (5, "sigmoid"), (5, "softmax")])
def test_the_logit_before_a_final_sigmoid_or_softmax_is_explained(units, activation, separate_activation, rng):
    model = classifier((20, 20, 3), units, activation, separate_activation=separate_activation)
    graph = graph_for(model)
    assert graph.output_activation == activation and graph.score_kind == "logit"
    inputs = rng.uniform(size=(20, 20, 3))
    target = units - 1
    explanation = explainers.explain(model, inputs, "saliency", target=target)
    logits = keras.Model(model.inputs, model.get_layer("logits").output) if separate_activation else None
    if logits is not None:
        expected = float(logits(inputs[None])[0, target])
        assert explanation.score == pytest.approx(expected, rel=1e-5)
    outputs = explainers.predict(model, inputs[None])[0]
    assert np.all((outputs > 0) & (outputs < 1)), "the model's own outputs are untouched"
    for method in ("gradcam", "scorecam", "integrated_gradients"):
        attribution = explainers.explain(model, inputs, method, target=target).attribution
        assert attribution.shape == (20, 20) and np.isfinite(attribution).all()


def test_a_single_sigmoid_binary_output_has_one_target(rng):
    model = classifier((20, 20, 3), 1, "sigmoid", separate_activation=False)
    assert explainers.explain(model, rng.uniform(size=(20, 20, 3)), "saliency").target == 0
    with pytest.raises(ValueError, match="outside"):
        explainers.explain(model, rng.uniform(size=(20, 20, 3)), "saliency", target=1)


def test_scorecam_on_a_sigmoid_model_weights_by_sigmoid_probability(rng):
    model = classifier((20, 20, 3), 1, "sigmoid", separate_activation=True)
    graph = graph_for(model)
    np.testing.assert_allclose(graph.probabilities(np.array([[0.0, 2.0]])), [[0.5, 1 / (1 + np.exp(-2))]])


@pytest.mark.parametrize("input_shape", [(64, 64, 1), (48, 80, 3), (37, 29, 4)])
def test_any_input_size_and_channel_count(input_shape, rng):
    model = classifier(input_shape, 3, "softmax", separate_activation=True)
    inputs = rng.uniform(size=input_shape)
    for method in explainers.METHODS:
        options = {"samples": 3} if method in ("smoothgrad", "smoothgrad_squared", "vargrad") else {}
        options |= {"patch": 8, "stride": 8} if method == "occlusion" else {}
        options |= FEW_SAMPLES.get(method, {})
        attribution = explainers.explain(model, inputs, method, **options).attribution
        assert attribution.shape == input_shape[:2], method
        assert np.isfinite(attribution).all(), method
