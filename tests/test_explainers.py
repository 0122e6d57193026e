"""Each method satisfies an identity from its paper, on every model shape."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import explainers
from explainers._graph import graph_for
from tests.conftest import build_three_shapes

SHAPES = build_three_shapes()


def linear_model(weights: np.ndarray, bias: float = 0.5) -> keras.Model:
    """y = sum(w * x) + b over a (4, 4, 1) image."""
    model = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(1)])
    model.layers[-1].set_weights([weights.reshape(16, 1).astype(np.float32), np.array([bias], np.float32)])
    return model


def test_saliency_of_a_linear_model_is_its_weights(rng):
    weights = rng.normal(size=(4, 4, 1))
    explanation = explainers.explain(linear_model(weights), rng.normal(size=(4, 4, 1)), "saliency", target=0)
    np.testing.assert_allclose(explanation.attribution, np.abs(weights[..., 0]), rtol=1e-6)
    assert explanation.score_kind == "output"


def test_integrated_gradients_of_a_linear_model_is_exact(rng):
    weights, inputs, baseline = rng.normal(size=(3, 4, 4, 1))
    explanation = explainers.explain(
        linear_model(weights), inputs, "integrated_gradients", target=0, baseline=baseline, steps=1, tolerance=None
    )
    np.testing.assert_allclose(explanation.attribution, ((inputs - baseline) * weights)[..., 0], rtol=1e-5, atol=1e-6)
    assert explanation.completeness_error < 1e-4


def smooth_model() -> keras.Model:
    """A nonlinear but smooth CNN, on which the trapezoidal rule converges like 1/steps^2."""
    init = keras.initializers.GlorotUniform(seed=3)
    return keras.Sequential(
        [
            keras.Input((8, 8, 3)),
            keras.layers.Conv2D(6, 3, activation="tanh", kernel_initializer=init),
            keras.layers.Conv2D(6, 3, activation="softplus", kernel_initializer=init),
            keras.layers.Flatten(),
            keras.layers.Dense(2, kernel_initializer=init),
        ]
    )


def test_integrated_gradients_completeness_error_falls_as_steps_grow(rng):
    model, inputs = smooth_model(), rng.normal(size=(8, 8, 3)) * 2
    errors = [
        explainers.explain(
            model, inputs, "integrated_gradients", target=1, steps=steps, tolerance=None
        ).completeness_error
        for steps in (2, 8, 32)
    ]
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < errors[0] / 50  # second order: 16x the steps, about 256x smaller


def test_adaptive_integrated_gradients_meets_its_tolerance_on_a_relu_model(rng):
    model, inputs = SHAPES["functional"], rng.uniform(0, 1, size=(12, 12, 3))
    uniform = explainers.explain(model, inputs, "integrated_gradients", steps=8, tolerance=None)
    adaptive = explainers.explain(model, inputs, "integrated_gradients", steps=8, tolerance=1e-3, max_steps=256)
    assert adaptive.completeness_relative <= 1e-3 < uniform.completeness_relative
    # Only the interval that holds the error is refined: far fewer than max_steps evaluations.
    assert adaptive.options["steps"] <= 32


def test_smoothgrad_without_noise_equals_saliency(rng):
    model, inputs = SHAPES["functional"], rng.uniform(0, 1, size=(12, 12, 3))
    saliency = explainers.explain(model, inputs, "saliency", target=2)
    smooth = explainers.explain(model, inputs, "smoothgrad", target=2, noise_level=0.0, samples=5)
    np.testing.assert_allclose(smooth.attribution, saliency.attribution, rtol=1e-5, atol=1e-8)


def test_smoothgrad_is_reproducible_and_changes_with_the_seed(rng):
    model, inputs = SHAPES["functional"], rng.uniform(0, 1, size=(12, 12, 3))
    first, second, other = (
        explainers.explain(model, inputs, "smoothgrad", samples=8, seed=seed).attribution for seed in (0, 0, 1)
    )
    np.testing.assert_array_equal(first, second)
    assert not np.allclose(first, other)


def test_explain_many_seeds_every_sampled_method_and_an_explicit_seed_wins(rng):
    model, inputs = SHAPES["functional"], rng.uniform(0, 1, size=(12, 12, 3))
    methods = ["saliency", "smoothgrad", "vargrad"]

    def maps(**given) -> dict[str, np.ndarray]:
        return {e.method: e.attribution for e in explainers.explain_many(model, inputs, methods, target=1, **given)}

    seeded = maps(seed=3)
    by_options = maps(options={"smoothgrad": {"seed": 3}, "vargrad": {"seed": 3}})
    for method in methods:
        np.testing.assert_array_equal(seeded[method], by_options[method])
    assert not np.allclose(seeded["smoothgrad"], maps(seed=4)["smoothgrad"])
    explicit = maps(seed=4, options={"smoothgrad": {"seed": 3}})
    np.testing.assert_array_equal(explicit["smoothgrad"], seeded["smoothgrad"])  # the method's own seed wins
    assert not np.allclose(explicit["vargrad"], seeded["vargrad"])  # the others take the call's seed


def square_detector() -> keras.Model:
    """Channel 0 copies the input, channel 1 is blank; class 0 reads channel 0, class 1 channel 1."""
    inputs = keras.Input((16, 16, 1))
    features = keras.layers.Conv2D(2, 1, use_bias=False, activation="relu", name="features")(inputs)
    pooled = keras.layers.GlobalAveragePooling2D()(features)
    outputs = keras.layers.Dense(2, use_bias=False, name="classes")(pooled)
    model = keras.Model(inputs, outputs)
    model.get_layer("features").set_weights([np.array([1.0, 0.0], np.float32).reshape(1, 1, 1, 2)])
    model.get_layer("classes").set_weights([np.eye(2, dtype=np.float32)])
    return model


def test_gradcam_peaks_inside_the_square_that_fires():
    image = np.zeros((16, 16, 1), np.float32)
    image[9:13, 3:7] = 1.0
    explanation = explainers.explain(square_detector(), image, "gradcam", target=0, layer="features")
    attribution = explanation.attribution
    row, col = np.unravel_index(np.argmax(attribution), attribution.shape)
    assert 9 <= row < 13 and 3 <= col < 7
    assert attribution[image[..., 0] == 0].max() < 0.5 * attribution.max() + 1e-6
    assert attribution[0:5, 10:16].max() == 0


FEW_SAMPLES = {
    "rise": {"masks": 16, "reliability_target": None},
    "lime": {"samples": 16, "reliability_target": None},
    "kernel_shap": {"samples": 16, "max_samples": 16, "reliability_target": None},
}
"""Options that keep the sampling methods quick on tiny models."""


@pytest.mark.parametrize("method", list(explainers.METHODS))
def test_every_method_gives_the_same_map_on_all_three_model_shapes(method, rng):
    inputs = rng.uniform(0, 1, size=(12, 12, 3)).astype(np.float32)
    maps = {}
    for shape, model in SHAPES.items():
        layer = {"nested": "backbone/conv2"}.get(shape, "conv2") if method == "gradcam" else None
        options = {"integrated_gradients": {"steps": 8}, "occlusion": {"patch": 4, "stride": 4}}.get(method, {})
        if method in ("smoothgrad", "smoothgrad_squared", "vargrad"):
            options = {"samples": 4}
        options |= FEW_SAMPLES.get(method, {})
        explanation = explainers.explain(model, inputs, method, target=1, layer=layer, **options)
        assert explanation.attribution.shape == (12, 12)
        assert explanation.attribution.dtype == np.float32
        assert np.isfinite(explanation.attribution).all() and np.abs(explanation.attribution).max() > 0
        assert explanation.score_kind == "logit"  # the softmax at the end is not what is explained
        maps[shape] = explanation.attribution
    np.testing.assert_allclose(maps["sequential"], maps["functional"], rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(maps["nested"], maps["functional"], rtol=1e-4, atol=1e-7)


def test_default_cam_layer_is_the_last_spatial_layer_even_inside_a_nested_model(rng):
    explanation = explainers.explain(SHAPES["nested"], rng.uniform(size=(12, 12, 3)), "gradcam")
    assert explanation.layer == "backbone/conv2"


def test_explaining_the_logit_of_a_dense_softmax_layer():
    """A Dense layer with activation='softmax' is explained through its logit, like a separate softmax."""
    init = keras.initializers.GlorotUniform(seed=5)
    conv = keras.layers.Conv2D(4, 3, activation="relu", kernel_initializer=init)
    with_softmax = keras.Sequential(
        [
            keras.Input((6, 6, 1)),
            conv,
            keras.layers.Flatten(),
            keras.layers.Dense(3, activation="softmax", kernel_initializer=init),
        ]
    )
    linear_twin = keras.Sequential([keras.Input((6, 6, 1)), conv, keras.layers.Flatten(), keras.layers.Dense(3)])
    linear_twin.layers[-1].set_weights(with_softmax.layers[-1].get_weights())
    inputs = np.random.default_rng(0).normal(size=(6, 6, 1))
    ours = explainers.explain(with_softmax, inputs, "saliency", target=2)
    twin = explainers.explain(linear_twin, inputs, "saliency", target=2)
    assert ours.score_kind == "logit" and twin.score_kind == "output"
    np.testing.assert_allclose(ours.attribution, twin.attribution, rtol=1e-5)
    assert ours.score == pytest.approx(twin.score, rel=1e-5)
    # The model still outputs probabilities afterwards: the hook that swapped the activation is gone.
    probabilities = explainers.predict(with_softmax, inputs[None])[0]
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-5)


def test_a_new_image_does_not_retrace_and_hooks_are_removed(rng):
    model = SHAPES["functional"]
    for _ in range(3):
        explainers.explain(model, rng.uniform(size=(12, 12, 3)), "saliency", target=int(rng.integers(3)))
        explainers.explain(model, rng.uniform(size=(12, 12, 3)), "gradcam", layer="conv2")
    graph = graph_for(model)
    assert graph.function(input_gradients=True).experimental_get_tracing_count() == 1
    assert graph.function(layer="conv2", layer_gradients=True).experimental_get_tracing_count() == 1
    for layer in model.layers:
        assert "call" not in vars(layer), f"a hook is still installed on {layer.name}"


def test_batch_size_follows_the_memory_budget_and_does_not_change_results(rng):
    model, inputs = SHAPES["functional"], rng.uniform(size=(12, 12, 3))
    graph = graph_for(model)
    per_sample = graph.activation_bytes_per_sample()
    assert graph.batch_size(100, memory_budget_bytes=per_sample * 7) == 4  # a power of two that fits
    assert graph.batch_size(100, memory_budget_bytes=1) == 1
    assert graph.batch_size(5) == 5
    calls = []
    small = explainers.explain(
        model,
        inputs,
        "smoothgrad",
        samples=6,
        reliability_target=None,
        memory_budget_bytes=per_sample * 2,
        progress=lambda d, t: calls.append(d),
    )
    large = explainers.explain(model, inputs, "smoothgrad", samples=6, reliability_target=None)
    assert calls == [2, 4, 6]
    np.testing.assert_allclose(small.attribution, large.attribution, rtol=1e-5, atol=1e-8)


def test_bad_requests_raise_clear_errors(rng):
    model = SHAPES["functional"]
    good = rng.uniform(size=(12, 12, 3))
    with pytest.raises(ValueError, match="unknown method"):
        explainers.explain(model, good, "deconvnet")
    with pytest.raises(ValueError, match="does not take option"):
        explainers.explain(model, good, "integrated_gradients", samples=3)
    with pytest.raises(ValueError, match="shape"):
        explainers.explain(model, rng.uniform(size=(10, 12, 3)), "saliency")
    with pytest.raises(ValueError, match="outside"):
        explainers.explain(model, good, "saliency", target=3)
    with pytest.raises(ValueError, match="NaN"):
        explainers.explain(model, np.full((12, 12, 3), np.nan), "saliency")
    with pytest.raises(ValueError, match="need a conv layer"):
        explainers.explain(linear_model(np.ones((4, 4, 1))), np.ones((4, 4, 1)), "gradcam")
    with pytest.raises(ValueError, match="spatial"):
        explainers.explain(model, good, "gradcam", layer="logits")


def test_methods_metadata_is_complete():
    assert set(explainers.DEFAULT_METHODS) <= set(explainers.METHODS)
    assert len(explainers.METHODS) == 18
    for name, info in explainers.METHODS.items():
        assert info.name == name and info.label and info.description and info.paper and info.misleads_when
        assert info.default_passes >= 1
        assert info.family in explainers.FAMILIES
    assert explainers.METHODS["integrated_gradients"].signed
    assert explainers.METHODS["gradcam"].needs_conv_layer
    assert not explainers.METHODS["saliency"].needs_conv_layer


def test_no_compiled_op_is_pinned_to_a_device():
    """Nothing pins work to the CPU, so TensorFlow places the ops on a GPU whenever it sees one."""
    model = SHAPES["nested"]
    graph = graph_for(model)
    functions = [
        graph.function(input_gradients=True),
        graph.function(layer="backbone/conv2", input_gradients=True, layer_gradients=True),
        graph.function(input_gradients=True, guided=True),
    ]
    for function in functions:
        operations = function.get_concrete_function().graph.get_operations()
        assert operations
        pinned = {op.name: op.device for op in operations if op.device}
        assert not pinned, f"ops pinned to a device: {list(pinned.items())[:3]}"


def test_warm_up_traces_every_function_once_so_the_first_request_does_not():
    model = build_three_shapes()["nested"]
    explainers.warm_up(model)
    graph = graph_for(model)
    explainers.explain(model, np.ones((12, 12, 3)), "gradcam")
    explainers.explain(model, np.ones((12, 12, 3)), "saliency")
    assert graph.function(input_gradients=True).experimental_get_tracing_count() == 1
    assert graph.function(layer="backbone/conv2", layer_gradients=True).experimental_get_tracing_count() == 1


def test_batches_run_in_a_few_padded_sizes_and_padding_changes_no_result(rng, monkeypatch):
    """Each new batch size costs oneDNN new primitives, so batches are padded to powers of two."""
    model = build_three_shapes()["functional"]
    graph = graph_for(model)
    inputs = rng.uniform(size=(11, 12, 12, 3)).astype(np.float32)
    alone = [graph.single_pass(x, 1, input_gradients=True) for x in inputs]
    shared = graph.function(input_gradients=True)
    sizes = []

    def recording(batch, target):
        sizes.append(int(batch.shape[0]))
        return shared(batch, target)

    monkeypatch.setattr(graph, "function", lambda **needs: recording)
    for count in range(1, 12):
        results = list(graph.batched(inputs[:count], 1, graph.activation_bytes_per_sample() * 8, input_gradients=True))
        scores = np.concatenate([r["scores"] for r in results])
        gradients = np.concatenate([r["input_gradients"] for r in results])
        assert len(scores) == count  # the padding never comes back
        np.testing.assert_allclose(scores, [a["scores"][0] for a in alone[:count]], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(gradients, np.stack([a["input_gradients"][0] for a in alone[:count]]), atol=1e-6)
    assert set(sizes) == {1, 2, 4, 8}
    outputs = explainers.predict(model, inputs, graph.activation_bytes_per_sample() * 8)
    np.testing.assert_allclose(outputs, np.concatenate([explainers.predict(model, x[None]) for x in inputs]), atol=1e-6)


def test_the_default_methods_share_one_compiled_gradient_function(rng):
    model = build_three_shapes()["functional"]
    list(explainers.explain_many(model, rng.uniform(size=(12, 12, 3)), explainers.DEFAULT_METHODS))
    graph = graph_for(model)
    assert set(graph._functions) == {("predict",), ("function", "conv2", True, True, False)}
    assert explainers.is_warm(model)
    guided = build_three_shapes()["functional"]
    assert not explainers.is_warm(guided)
    explainers.explain(guided, rng.uniform(size=(12, 12, 3)), "guided_backprop")
    assert ("function", None, True, False, True) in graph_for(guided)._functions  # guided ReLUs: its own


def test_integrated_gradients_refines_at_least_one_interval_a_round(rng):
    model = SHAPES["functional"]
    with pytest.raises(ValueError, match="at least one interval"):
        explainers.explain(model, rng.uniform(size=(12, 12, 3)), "integrated_gradients", refine_per_round=0)


def test_input_gradients_fall_back_to_their_own_function_when_the_shared_layer_cannot_be_captured(rng):
    model = build_three_shapes()["functional"]
    graph = graph_for(model)
    graph.default_layer = "pool"  # a layer with no spatial output: the shared function cannot be built on it
    inputs = rng.uniform(size=(12, 12, 3))
    explanation = explainers.explain(model, inputs, "saliency", target=1)
    assert graph.default_layer is None and ("function", None, True, False, False) in graph._functions
    reference = explainers.explain(build_three_shapes()["functional"], inputs, "saliency", target=1)
    np.testing.assert_allclose(explanation.attribution, reference.attribution, rtol=1e-5, atol=1e-7)
