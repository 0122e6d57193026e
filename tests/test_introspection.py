"""Inside the network: every layer's output and the class score's gradient at it, against independent sums."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

import introspection
from explainers._graph import graph_for
from explainers.gradcam import GradCAM
from models.layers import find_layer
from tests.conftest import build_three_shapes


@pytest.fixture(scope="module")
def shapes():
    return build_three_shapes((12, 12, 3))


@pytest.fixture(scope="module")
def image():
    return np.random.default_rng(3).uniform(-1, 1, size=(12, 12, 3)).astype(np.float32)


def independent(model: keras.Model, layer: str, image: np.ndarray, target: int) -> tuple[np.ndarray, np.ndarray]:
    """The layer's output and d(logit)/d(output), by calling the chain's layers one by one in eager mode under a
    tape that watches the output (no hooks, no compiled function)."""
    x = tf.constant(image[None])
    with tf.GradientTape() as tape:
        for chained in model.layers:
            if isinstance(chained, keras.layers.InputLayer):
                continue
            x = chained(x)
            if chained.name == layer:
                output = x
                tape.watch(output)
            if chained.name == "logits":
                score = x[0, target]
                break
    return output.numpy()[0], tape.gradient(score, output).numpy()[0]


@pytest.mark.parametrize("layer", ["conv1", "conv2", "pool", "logits"])
def test_activations_and_gradients_equal_an_independent_computation(shapes, image, layer):
    model = shapes["functional"]
    expected_output, expected_gradient = independent(model, layer, image, target=1)
    activity = introspection.record_layers(model, image, 1, keep=(layer,)).activity(layer)
    np.testing.assert_allclose(activity.activations, expected_output, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(activity.gradients, expected_gradient, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("shape", ["sequential", "functional", "nested"])
def test_every_model_shape_records_the_same_layers_and_values(shapes, image, shape):
    model = shapes[shape]
    conv = "backbone/conv2" if shape == "nested" else "conv2"
    recording = introspection.record_layers(model, image, 2, keep=(conv,))
    names = [row.layer.path.rsplit("/", 1)[-1] for row in recording.flow]
    assert names == ["conv1", "conv2", "pool", "logits", "probabilities"]
    reference = introspection.record_layers(shapes["functional"], image, 2, keep=("conv2",)).activity("conv2")
    np.testing.assert_allclose(recording.activity(conv).activations, reference.activations, rtol=1e-6)
    np.testing.assert_allclose(recording.activity(conv).gradients, reference.gradients, rtol=1e-5, atol=1e-7)
    # The score is the logit before the softmax, as the attribution methods explain it.
    logits, _ = independent(shapes["functional"], "logits", image, 2)
    assert recording.score == pytest.approx(float(logits[2]), rel=1e-5)


def test_contributions_are_gradcams_channel_weights_times_mean_activation(shapes, image):
    model = shapes["functional"]
    results = graph_for(model).single_pass(image, 0, layer="conv2", layer_gradients=True)
    activations, gradients = results["activations"][0], results["layer_gradients"][0]
    weights = GradCAM().weights(activations, gradients, None)
    activity = introspection.record_layers(model, image, 0, keep=("conv2",)).activity("conv2")
    expected = weights * activations.mean(axis=(0, 1))
    np.testing.assert_allclose(activity.contribution, expected, rtol=1e-4, atol=1e-8)
    assert list(activity.ranked("contribution")) == list(np.argsort(-expected, kind="stable"))
    assert list(activity.ranked("activation")) == list(np.argsort(-activations.mean(axis=(0, 1)), kind="stable"))
    # Their sum is the spatial mean of Grad-CAM's map before its ReLU.
    assert activity.contribution.sum() == pytest.approx(float((activations * weights).sum(-1).mean()), rel=1e-4)


def test_flow_norms_dead_units_and_the_layers_past_the_score(shapes, image):
    model = shapes["functional"]
    recording = introspection.record_layers(model, image, 1, keep=("conv1", "logits"))
    flow = {row.layer.path: row for row in recording.flow}
    conv1 = recording.activity("conv1").activations
    assert flow["conv1"].activation_norm == pytest.approx(float(np.linalg.norm(conv1)), rel=1e-5)
    assert flow["conv1"].activation_rms == pytest.approx(float(np.sqrt((conv1.astype(np.float64) ** 2).mean())))
    dead = np.mean([not (conv1[..., k] > 0).any() for k in range(conv1.shape[-1])])
    assert flow["conv1"].dead_fraction == pytest.approx(dead)
    # d(logit_1)/d(logits) is one-hot: norm 1; the softmax after the logits does not feed the score.
    assert flow["logits"].gradient_norm == pytest.approx(1.0)
    np.testing.assert_array_equal(recording.activity("logits").gradients, np.eye(3)[1])
    assert flow["probabilities"].gradient_norm is None
    assert recording.activity("logits").contribution is not None
    with pytest.raises(KeyError, match="not kept"):
        recording.activity("conv2")
    with pytest.raises(KeyError, match="no inspectable layer"):
        introspection.record_layers(model, image, 1, keep=("nowhere",))


def test_a_dead_channel_is_counted_and_frozen_weights_still_give_gradients(image):
    inputs = keras.Input((12, 12, 3))
    conv = keras.layers.Conv2D(4, 3, activation="relu", name="conv")
    x = conv(inputs)
    outputs = keras.layers.Dense(2, name="logits")(keras.layers.GlobalAveragePooling2D()(x))
    model = keras.Model(inputs, outputs)
    kernel, bias = conv.get_weights()
    kernel[..., 3], bias[3] = 0.0, -1.0  # channel 3 is always -1 before its ReLU: never active
    conv.set_weights([kernel, bias])
    model.trainable = False
    activity = introspection.record_layers(model, image, 0, keep=("conv",)).activity("conv")
    assert not (activity.channel(3) > 0).any()
    assert activity.dead_fraction >= 0.25
    assert np.abs(activity.gradients).sum() > 0


def test_a_model_records_every_layer_in_one_compiled_function(shapes, image):
    model = shapes["sequential"]
    graph = graph_for(model)
    before = {key for key in graph._functions if key[0] == "every_layer"}
    for layer in ("conv1", "conv2", "pool"):
        introspection.record_layers(model, image, 0, keep=(layer,))
    after = {key for key in graph._functions if key[0] == "every_layer"}
    assert len(after - before) <= 1
    assert find_layer(model, "conv1").__dict__.get("call") is None, "no hook is left on the model"


def test_kernel_pictures_show_each_filter_in_its_own_range_or_on_one_scale():
    kernel = np.zeros((2, 2, 3, 2), np.float32)
    kernel[0, 0, 0, 0] = 1.0  # filter 0: red in the top-left corner
    kernel[1, 1, 2, 1] = -0.25  # filter 1: weak, negative blue in the bottom-right corner
    own = introspection.kernel_pictures(kernel)
    assert own.shape == (2, 2, 2, 3) and own.dtype == np.uint8
    assert tuple(own[0, 0, 0]) == (255, 0, 0) and own[0].max() == 255 and own[0].min() == 0
    assert tuple(own[1, 1, 1]) == (255, 255, 0), "the minimum (negative blue) is darkest in blue only"
    joint = introspection.kernel_pictures(kernel, joint=True)
    assert tuple(joint[0, 1, 1]) == (128, 128, 128), "zero is mid-grey on the joint scale"
    assert tuple(joint[0, 0, 0]) == (255, 128, 128) and tuple(joint[1, 1, 1]) == (128, 128, 96)
    bgr = introspection.kernel_pictures(kernel, bgr=True)
    assert tuple(bgr[0, 0, 0]) == (0, 0, 255), "a BGR model's first channel is blue"
    gray = introspection.kernel_pictures(np.arange(8, dtype=np.float32).reshape(2, 2, 2, 1))
    assert (gray[..., 0] == gray[..., 1]).all() and gray.min() == 0 and gray.max() == 255
    with pytest.raises(ValueError, match="4 axes"):
        introspection.kernel_pictures(np.zeros((3, 4)))


def test_weights_of_conv_dense_and_batch_norm_layers_are_the_layers_own():
    inputs = keras.Input((10, 10, 3))
    x = keras.layers.Conv2D(4, 3, name="conv")(inputs)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.DepthwiseConv2D(3, name="depthwise")(x)
    x = keras.layers.ReLU(name="relu")(x)
    outputs = keras.layers.Dense(2, name="logits")(keras.layers.GlobalAveragePooling2D(name="pool")(x))
    inner = keras.Model(inputs, outputs, name="inner")
    outer_in = keras.Input((10, 10, 3))
    model = keras.Model(outer_in, inner(outer_in))
    bn = inner.get_layer("bn")
    bn.set_weights([np.full(4, 2.0), np.full(4, 0.5), np.full(4, 0.1), np.full(4, 3.0)])
    found = {w.layer.path: w for w in introspection.weighted_layers(model)}
    assert list(found) == ["inner/conv", "inner/bn", "inner/depthwise", "inner/logits"]
    assert introspection.first_conv_layer(model) == "inner/conv"
    conv = found["inner/conv"]
    np.testing.assert_array_equal(conv.kernel, inner.get_layer("conv").kernel.numpy())
    assert conv.kernel_norm == pytest.approx(float(np.linalg.norm(conv.kernel)), rel=1e-6)
    np.testing.assert_allclose(conv.spatial_pattern(), np.abs(conv.kernel).mean(axis=(2, 3)))
    assert found["inner/depthwise"].kind == "depthwise" and found["inner/logits"].spatial_pattern() is None
    np.testing.assert_allclose(found["inner/bn"].effective_scale(), 2.0 / np.sqrt(3.0 + bn.epsilon))
    assert introspection.layer_weights(model, "inner/relu") is None


def test_a_model_no_one_holds_is_freed_with_its_compiled_functions(image):
    """The engine keeps one graph of compiled functions per model, weakly: a model the caller lets go (a training
    run's, an uploaded one replaced by another) is freed, its functions with it."""
    import gc
    import weakref

    import explainers
    from explainers._graph import _GRAPHS

    gc.collect()  # earlier tests' garbage first, so that only this model's graph goes below
    model = build_three_shapes((12, 12, 3))["functional"]
    alive = weakref.ref(model)
    explainers.explain(model, image, "gradcam")
    explainers.explain(model, image, "lrp")
    introspection.record_layers(model, image, 0)
    gc.collect()
    before = len(_GRAPHS)
    del model
    gc.collect()
    assert alive() is None and len(_GRAPHS) == before - 1


def test_a_functional_models_tiles_equal_its_sub_model(image):
    """The issue's check: a sub-model cut at the layer (keras.Model(inputs, layer.output)) gives the same arrays."""
    from tests.conftest import small_cnn_layers

    backbone, head = small_cnn_layers(seed=4)
    inputs = keras.Input((12, 12, 3))
    x = inputs
    for layer in (*backbone, *head):
        x = layer(x)
    model = keras.Model(inputs, x)
    for name in ("conv1", "conv2", "pool"):
        sub_model = keras.Model(model.inputs, model.get_layer(name).output)
        activity = introspection.record_layers(model, image, 1, keep=(name,)).activity(name)
        np.testing.assert_allclose(activity.activations, np.asarray(sub_model(image[None]))[0], rtol=1e-5, atol=1e-6)
