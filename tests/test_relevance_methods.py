"""DeepLIFT and LRP: the identities each one must satisfy, on small models and on the bundled EfficientNet-Lite0."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import explainers
from explainers._graph import graph_for
from explainers._rules import COMPOSITES
from tests.conftest import build_three_shapes
from tests.test_explainers import linear_model


def randomise_batch_norms(model: keras.Model, rng: np.random.Generator) -> keras.Model:
    """Batch norms with statistics far from the identity, as trained ones are; some scales negative."""
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.gamma.shape[0]
            gamma = rng.uniform(0.5, 1.5, n) * rng.choice([-1, 1], n)
            layer.set_weights([gamma, rng.normal(0, 1, n), rng.normal(0, 1, n), rng.uniform(0.5, 2, n)])
    return model


def mixed_model(rng: np.random.Generator) -> keras.Model:
    """Every kind of layer DeepLIFT's rules cover: ReLU, ReLU6, swish, sigmoid, batch norm, depthwise
    convolution, a residual sum, a squeeze-and-excitation product, average pooling and a dense head."""
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(inputs)
    x = keras.layers.BatchNormalization()(x)
    y = keras.layers.DepthwiseConv2D(3, padding="same", use_bias=False)(x)
    y = keras.layers.BatchNormalization()(y)
    y = keras.layers.ReLU(6.0)(y)
    gate = keras.layers.GlobalAveragePooling2D(keepdims=True)(y)
    gate = keras.layers.Conv2D(8, 1, activation="sigmoid")(gate)
    y = keras.layers.Multiply()([y, gate])
    y = keras.layers.Conv2D(8, 1, activation="swish")(y)
    x = keras.layers.Add()([x, y])
    x = keras.layers.AveragePooling2D(2)(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(5, activation="softmax")(x)
    return randomise_batch_norms(keras.Model(inputs, outputs), rng)


def relu_net(*, bias: bool) -> keras.Model:
    """A small ReLU network: every convolution is rectified, as in VGG."""
    init = {
        "use_bias": bias,
        "kernel_initializer": keras.initializers.GlorotUniform(seed=3),
        "bias_initializer": keras.initializers.RandomNormal(stddev=0.3, seed=4),
    }
    return keras.Sequential(
        [
            keras.Input((12, 12, 3)),
            keras.layers.Conv2D(6, 3, padding="same", activation="relu", **init),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(6, 3, padding="same", activation="relu", **init),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(3, **init),
        ]
    )


def no_hooks_left(model: keras.Model) -> bool:
    return all("call" not in vars(layer) for layer in model._flatten_layers(include_self=False))


# -- DeepLIFT -------------------------------------------------------------------------------------------------


def test_deeplift_adds_up_to_the_score_difference_through_every_elementwise_rule(rng):
    model = mixed_model(rng)
    inputs, baseline = rng.normal(size=(2, 16, 16, 3)).astype(np.float32)
    outputs_before = model(inputs[None]).numpy()
    explanation = explainers.explain(model, inputs, "deeplift", baseline=baseline)
    assert explanation.completeness_relative < 1e-4
    assert "gradient_at" not in explanation.options  # nothing fell back to the plain gradient
    assert explanation.passes == 2
    # The hooks were removed after tracing and the shared model computes as before.
    assert no_hooks_left(model)
    np.testing.assert_allclose(model(inputs[None]).numpy(), outputs_before, rtol=1e-6)


def test_deeplift_on_the_bundled_model_adds_up_to_the_score_difference(bundled_model, bundled_source, sample_input):
    _, inputs = sample_input("chelsea")
    explanation = explainers.explain(bundled_model, inputs, "deeplift", baseline=bundled_source.black_image())
    logits = graph_for(bundled_model).rule_pass(
        np.stack([inputs, bundled_source.black_image()]), explanation.target, COMPOSITES["zero"]
    )["scores"]
    assert explanation.attribution.sum() == pytest.approx(logits[0] - logits[1], rel=1e-4)
    assert explanation.completeness_relative < 1e-4


def test_deeplift_of_the_baseline_itself_is_zero(rng):
    model = mixed_model(rng)
    inputs = rng.normal(size=(16, 16, 3)).astype(np.float32)
    explanation = explainers.explain(model, inputs, "deeplift", baseline=inputs)
    assert np.all(explanation.attribution == 0)


def test_deeplift_on_a_linear_model_equals_integrated_gradients(rng):
    weights, inputs, baseline = rng.normal(size=(3, 4, 4, 1))
    model = linear_model(weights)
    deeplift = explainers.explain(model, inputs, "deeplift", target=0, baseline=baseline)
    integrated = explainers.explain(model, inputs, "integrated_gradients", target=0, baseline=baseline)
    np.testing.assert_allclose(deeplift.attribution, integrated.attribution, rtol=1e-5, atol=1e-6)


def test_deeplift_names_the_layers_where_it_falls_back_to_the_gradient(rng):
    model = relu_net(bias=True)
    explanation = explainers.explain(model, rng.normal(size=(12, 12, 3)), "deeplift")
    assert explanation.options["gradient_at"] == ["MaxPooling2D"]
    assert np.isfinite(explanation.completeness_error)


@pytest.mark.parametrize("method", ["deeplift", "lrp"])
def test_the_same_map_on_sequential_functional_and_nested_models(method, rng):
    inputs, baseline = rng.normal(size=(2, 12, 12, 3))
    maps = [
        explainers.explain(model, inputs, method, target=1, baseline=baseline).attribution
        for model in build_three_shapes().values()
    ]
    assert np.abs(maps[0]).max() > 0
    for other in maps[1:]:
        np.testing.assert_allclose(other, maps[0], rtol=1e-5, atol=1e-7)


# -- LRP ------------------------------------------------------------------------------------------------------


def test_lrp_zero_on_a_relu_network_is_gradient_times_input(rng):
    model = relu_net(bias=True)
    inputs = rng.normal(size=(12, 12, 3))
    lrp = explainers.explain(model, inputs, "lrp", target=2, composite="zero")
    gradient_input = explainers.explain(model, inputs, "gradient_input", target=2)
    np.testing.assert_allclose(lrp.attribution, gradient_input.attribution, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("composite", ["zero", "zplus", "epsilon_plus_flat", "epsilon_alpha2_beta1_flat"])
def test_lrp_conserves_relevance_on_a_bias_free_relu_network(composite, rng):
    explanation = explainers.explain(
        relu_net(bias=False), rng.normal(size=(12, 12, 3)), "lrp", target=0, composite=composite
    )
    assert explanation.attribution.sum() == pytest.approx(explanation.score, rel=1e-4)
    assert explanation.options["composite"] == composite


def test_lrp_epsilon_absorbs_relevance(rng):
    model, inputs = relu_net(bias=False), rng.normal(size=(12, 12, 3))
    conserved = explainers.explain(model, inputs, "lrp", target=0, composite="zero")
    absorbed = explainers.explain(model, inputs, "lrp", target=0, composite="epsilon")
    assert abs(absorbed.attribution.sum()) < abs(conserved.score)
    assert absorbed.completeness_relative > 1e-3


def test_folding_batch_norm_into_the_convolution_gives_the_same_relevance(rng):
    """The canonizer: a convolution followed by a batch norm explains like one convolution with the folded weights."""
    inputs = keras.Input((10, 10, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", use_bias=False, name="conv")(inputs)
    x = keras.layers.BatchNormalization(name="norm")(x)
    x = keras.layers.ReLU()(x)
    outputs = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(x))
    with_norm = randomise_batch_norms(keras.Model(inputs, outputs), rng)

    norm = with_norm.get_layer("norm")
    gamma, beta, mean, variance = norm.get_weights()
    scale = gamma / np.sqrt(variance + norm.epsilon)
    folded_inputs = keras.Input((10, 10, 3))
    y = keras.layers.Conv2D(4, 3, padding="same", name="folded")(folded_inputs)
    y = keras.layers.ReLU()(y)
    folded_outputs = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(y))
    folded = keras.Model(folded_inputs, folded_outputs)
    folded.get_layer("folded").set_weights([with_norm.get_layer("conv").get_weights()[0] * scale, beta - mean * scale])
    folded.layers[-1].set_weights(with_norm.layers[-1].get_weights())

    image = rng.normal(size=(10, 10, 3))
    np.testing.assert_allclose(folded(image[None]).numpy(), with_norm(image[None]).numpy(), rtol=1e-4, atol=1e-5)
    for composite in ("epsilon_plus_flat", "epsilon_alpha2_beta1_flat", "epsilon"):
        a = explainers.explain(with_norm, image, "lrp", target=0, composite=composite).attribution
        b = explainers.explain(folded, image, "lrp", target=0, composite=composite).attribution
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-6)


def test_lrp_leaves_the_forward_pass_as_the_model_computes_it(bundled_model, sample_input):
    _, inputs = sample_input("chelsea")
    graph = graph_for(bundled_model)
    for composite in COMPOSITES.values():
        outputs = graph.rule_pass(inputs[None], 0, composite)["outputs"]
        np.testing.assert_allclose(
            graph.probabilities(outputs), bundled_model(inputs[None]).numpy(), rtol=1e-4, atol=1e-6
        )
    assert no_hooks_left(bundled_model)


def test_lrp_on_the_bundled_model_reports_what_its_rules_absorb(bundled_model, sample_input):
    _, inputs = sample_input("chelsea")
    explanation = explainers.explain(bundled_model, inputs, "lrp")
    assert explanation.options == {"composite": "epsilon_plus_flat"}
    assert np.isfinite(explanation.attribution).all() and np.abs(explanation.attribution).max() > 0
    assert explanation.completeness_error == pytest.approx(
        abs(explanation.attribution.sum() - explanation.score), rel=1e-4
    )


def test_lrp_refuses_a_model_with_a_layer_it_has_no_rule_for(rng):
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    x = keras.layers.LayerNormalization(name="odd_norm")(x)
    outputs = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(x))
    model = keras.Model(inputs, outputs)
    with pytest.raises(ValueError, match=r"odd_norm.*LayerNormalization"):
        explainers.explain(model, rng.normal(size=(8, 8, 3)), "lrp")
    assert no_hooks_left(model)
    assert "odd_norm" in explainers.unavailable_reason(model, "lrp")
    assert explainers.unavailable_reason(relu_net(bias=True), "lrp") is None
    with pytest.raises(ValueError, match="composite"):
        explainers.explain(relu_net(bias=True), rng.normal(size=(12, 12, 3)), "lrp", composite="best")
