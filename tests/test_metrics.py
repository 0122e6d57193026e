"""The trust metrics: reliability of stochastic maps, deletion/insertion, randomisation, agreement."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import explainers
import metrics
import models
from explainers._reliability import samples_for_reliability
from tests.conftest import build_three_shapes


def linear_two_class_model(weights: np.ndarray) -> keras.Model:
    """Logit 0 = sum(w * x), logit 1 = 0: class 0's probability is the sigmoid of a linear score."""
    height, width, channels = weights.shape
    model = keras.Sequential(
        [keras.Input(weights.shape), keras.layers.Flatten(), keras.layers.Dense(2, use_bias=False)]
    )
    kernel = np.zeros((height * width * channels, 2), np.float32)
    kernel[:, 0] = weights.ravel()
    model.layers[-1].set_weights([kernel])
    return model


# -- reliability ------------------------------------------------------------------------------


def test_spearman_brown_of_identical_halves_is_one_and_follows_the_formula():
    half = np.random.default_rng(0).normal(size=(9, 9))
    assert metrics.split_half_reliability(half, half.copy()) == pytest.approx(1.0)
    assert metrics.spearman_brown(0.5) == pytest.approx(2 / 3)
    assert metrics.spearman_brown(0.0) == 0.0
    assert metrics.spearman_brown(0.5, factor=4) == pytest.approx(0.8)
    # The prophecy inverts the formula: 25 samples at 0.8 need 25 * 0.9 * 0.2 / (0.8 * 0.1) = 56.25.
    assert samples_for_reliability(25, 0.8, 0.9) == 57
    assert metrics.spearman_brown(0.8, factor=57 / 25) >= 0.9


def test_split_half_reliability_rises_with_samples(rng):
    model, inputs = build_three_shapes()["functional"], rng.uniform(size=(12, 12, 3))

    def mean_reliability(samples: int) -> float:
        values = [
            explainers.explain(
                model, inputs, "vargrad", target=1, samples=samples, seed=seed, reliability_target=None
            ).reliability
            for seed in range(4)
        ]
        return float(np.mean(values))

    few, some, many = (mean_reliability(n) for n in (4, 16, 128))
    assert few < some < many
    assert many > 0.8


def test_sampling_goes_on_until_the_target_and_stops_at_the_cap(rng):
    model, inputs = build_three_shapes()["functional"], rng.uniform(size=(12, 12, 3))
    reached = explainers.explain(model, inputs, "vargrad", target=1, samples=4, reliability_target=0.95)
    assert reached.reliability >= 0.95 and reached.passes > 4
    assert reached.options["samples"] == reached.passes
    capped = explainers.explain(model, inputs, "vargrad", target=1, samples=4, max_samples=10, reliability_target=0.999)
    assert capped.passes == 10 and capped.reliability < 0.999
    fixed = explainers.explain(model, inputs, "smoothgrad", target=1, samples=6, reliability_target=None)
    assert fixed.passes == 6 and fixed.reliability is not None
    assert explainers.explain(model, inputs, "saliency", target=1).reliability is None


def test_the_split_half_estimate_predicts_a_rerun_on_the_bundled_model(bundled_model, sample_input):
    """The estimate from one run's halves matches the correlation of two full runs with different seeds."""
    _, inputs = sample_input("coffee")
    options = {"samples": 50, "reliability_target": None}
    first = explainers.explain(bundled_model, inputs, "smoothgrad", seed=0, **options)
    rerun = explainers.explain(bundled_model, inputs, "smoothgrad", seed=1, **options)
    assert first.reliability == pytest.approx(explainers.pearson(first.attribution, rerun.attribution), abs=0.05)


@pytest.mark.parametrize("sample", ["chelsea", "rocket"])
def test_default_stochastic_maps_reach_the_target_on_the_bundled_model(bundled_model, sample_input, sample):
    _, inputs = sample_input(sample)
    for method in ("smoothgrad", "smoothgrad_squared"):
        explanation = explainers.explain(bundled_model, inputs, method)
        assert explanation.reliability >= 0.9, (method, explanation.passes)


# -- deletion and insertion -------------------------------------------------------------------


def test_the_true_contributions_of_a_linear_model_beat_a_random_map(rng):
    weights = rng.normal(size=(64, 64, 3)).astype(np.float32) * 0.05
    inputs = rng.uniform(0, 1, size=(64, 64, 3)).astype(np.float32)
    model, black = linear_two_class_model(weights), np.zeros_like(inputs)
    assert explainers.output_kind(model) == "logits"
    # Deleting pixel i lowers the logit by its contribution w_i * (x_i - 0); inserting it raises the logit
    # by w_i * (x_i - blur_i): ordering by these is the best possible order for each curve.
    deletion_map = (weights * (inputs - black)).sum(axis=-1)
    insertion_map = (weights * (inputs - metrics.blurred(inputs))).sum(axis=-1)
    random_map = rng.normal(size=(64, 64))
    best_deletion = metrics.curves(model, inputs, deletion_map, 0, black)
    best_insertion = metrics.curves(model, inputs, insertion_map, 0, black)
    random = metrics.curves(model, inputs, random_map, 0, black)
    chance = metrics.random_curves(model, inputs, 0, black)
    assert best_deletion.deletion_auc < min(random.deletion_auc, chance.deletion_auc) - 0.05
    assert best_insertion.insertion_auc > max(random.insertion_auc, chance.insertion_auc) + 0.05
    # The reverse order is the worst: deletion then removes evidence against the class first.
    assert metrics.curves(model, inputs, -deletion_map, 0, black).deletion_auc > random.deletion_auc


def test_a_constant_map_gives_exactly_the_random_baseline(rng):
    model = linear_two_class_model(rng.normal(size=(8, 8, 3)).astype(np.float32))
    inputs, black = rng.uniform(size=(8, 8, 3)).astype(np.float32), np.zeros((8, 8, 3), np.float32)
    constant = metrics.curves(model, inputs, np.full((8, 8), 3.0), 0, black, seed=5)
    chance = metrics.random_curves(model, inputs, 0, black, seed=5)
    np.testing.assert_array_equal(constant.deletion, chance.deletion)
    np.testing.assert_array_equal(constant.insertion, chance.insertion)
    other_seed = metrics.random_curves(model, inputs, 0, black, seed=6)
    assert not np.array_equal(other_seed.deletion, chance.deletion)


def test_curves_start_and_end_where_the_protocol_says(rng):
    model = linear_two_class_model(rng.normal(size=(8, 8, 3)).astype(np.float32))
    inputs, black = rng.uniform(size=(8, 8, 3)).astype(np.float32), np.full((8, 8, 3), -1.0, np.float32)
    result = metrics.curves(model, inputs, rng.normal(size=(8, 8)), 0, black)
    probability = lambda x: float(explainers.probabilities(model, explainers.predict(model, x[None]))[0, 0])  # noqa: E731
    assert len(result.fractions) == metrics.STEPS + 1 and result.fractions[0] == 0 and result.fractions[-1] == 1
    assert result.deletion[0] == pytest.approx(probability(inputs), abs=1e-6)
    assert result.insertion[-1] == result.deletion[0]
    assert result.deletion[-1] == pytest.approx(probability(black), abs=1e-6)
    assert result.insertion[0] == pytest.approx(probability(metrics.blurred(inputs)), abs=1e-6)
    trapezoid = sum(
        (result.fractions[i + 1] - result.fractions[i]) * (result.deletion[i] + result.deletion[i + 1]) / 2
        for i in range(metrics.STEPS)
    )
    assert result.deletion_auc == pytest.approx(trapezoid)
    assert result.value_kind == "probability"


def test_pixel_order_puts_the_highest_first_and_keeps_signed_values_signed():
    attribution = np.array([[0.1, -0.9], [0.5, 0.0]])
    assert list(metrics.pixel_order(attribution)) == [2, 0, 3, 1]  # -0.9 is evidence against: last


def test_curves_run_in_memory_capped_batches_with_the_same_result(rng):
    model = linear_two_class_model(rng.normal(size=(8, 8, 3)).astype(np.float32))
    inputs, black = rng.uniform(size=(8, 8, 3)).astype(np.float32), np.zeros((8, 8, 3), np.float32)
    attribution, calls = rng.normal(size=(8, 8)), []
    small = metrics.curves(
        model, inputs, attribution, 0, black, memory_budget_bytes=1, progress=lambda d, t: calls.append(t)
    )
    large = metrics.curves(model, inputs, attribution, 0, black)
    np.testing.assert_allclose(small.deletion, large.deletion, rtol=1e-6)
    assert len(calls) == 2 * metrics.STEPS + 1 and set(calls) == {2 * metrics.STEPS + 1}


# -- randomisation ------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["sequential", "functional", "nested"])
def test_randomisation_runs_on_a_private_copy_of_every_model_shape(shape, rng):
    model = build_three_shapes()[shape]
    before = [w.copy() for w in model.get_weights()]
    inputs = rng.uniform(size=(12, 12, 3))
    layer = "backbone/conv2" if shape == "nested" else "conv2"
    explanation = explainers.explain(model, inputs, "gradcam", target=1, layer=layer)
    result = metrics.randomization_check(model, inputs, explanation, stages=3)
    assert result.stages[0] == "original" and len(result.stages) == len(result.maps) == 4
    assert result.spearman[0] == pytest.approx(1.0) and result.ssim[0] == pytest.approx(1.0)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True))
    assert not np.allclose(result.maps[-1], result.maps[0])


@pytest.mark.parametrize("method", ["integrated_gradients", "smoothgrad", "occlusion"])
def test_randomised_maps_take_no_more_passes_than_the_original(method, rng):
    model, inputs = build_three_shapes()["functional"], rng.uniform(size=(12, 12, 3))
    options = {"occlusion": {"patch": 4, "stride": 4}, "integrated_gradients": {"steps": 4, "tolerance": 1e-4}}
    explanation = explainers.explain(model, inputs, method, target=1, **options.get(method, {}))
    replay = explainers.replay_options(explanation)
    again = explainers.explain(model, inputs, method, target=1, **replay)
    np.testing.assert_allclose(again.attribution, explanation.attribution, rtol=1e-5, atol=1e-8)
    copy = metrics.private_copy(model)
    metrics.randomize_layers(copy, ["logits", "conv2"], seed=3)
    assert explainers.explain(copy, inputs, method, target=1, **replay).passes <= explanation.passes


def test_stages_go_from_the_top_block_down_and_cover_every_block(bundled_model):
    stages = metrics.cascading_stages(bundled_model, 5)
    assert len(stages) == 5
    assert stages[0][0].blocks == ("head",)
    assert stages[-1][0].blocks[-1] == "stem"
    every_layer = [path for _, paths in stages for path in paths]
    weighted = [info.path for info in models.describe_layers(bundled_model) if info.parameters]
    assert sorted(every_layer) == sorted(weighted)


def test_a_constant_map_cannot_pass_or_fail_the_randomisation_check(rng):
    model = build_three_shapes()["functional"]
    inputs = rng.uniform(size=(12, 12, 3))
    whole_image = explainers.explain(model, inputs, "occlusion", target=1, patch=12, stride=12)
    assert np.ptp(whole_image.attribution) == 0  # one patch covers everything: the same drop everywhere
    result = metrics.randomization_check(model, inputs, whole_image, stages=2)
    assert not result.applicable and result.passed is None
    informative = explainers.explain(model, inputs, "saliency", target=1)
    assert metrics.randomization_check(model, inputs, informative, stages=2).passed is not None


def test_randomize_layers_uses_each_layers_own_initializer():
    model = keras.Sequential(
        [
            keras.Input((6, 6, 1)),
            keras.layers.Conv2D(3, 3, kernel_initializer="ones", bias_initializer=keras.initializers.Constant(2.0)),
            keras.layers.BatchNormalization(),
        ]
    )
    model.set_weights([w + 5.0 for w in model.get_weights()])
    copy = metrics.private_copy(model)
    metrics.randomize_layers(copy, [layer.name for layer in copy.layers], seed=0)
    kernel, bias, gamma, beta, mean, variance = copy.get_weights()
    assert np.all(kernel == 1) and np.all(bias == 2)
    assert np.all(gamma == 1) and np.all(beta == 0) and np.all(mean == 0) and np.all(variance == 1)
    assert np.all(model.get_weights()[0] == 6.0)  # the original keeps its weights


def test_guided_backprop_fails_and_gradcam_passes_on_the_bundled_model(bundled_model, bundled_source, sample_input):
    _, inputs = sample_input("coffee")
    before = [w.copy() for w in bundled_model.get_weights()]
    target = int(np.argmax(explainers.predict(bundled_model, inputs[None])[0]))
    layer = models.default_cam_layer(bundled_model)
    results = {
        method: metrics.randomization_check(
            bundled_model,
            inputs,
            explainers.explain(
                bundled_model, inputs, method, target=target, layer=layer if method == "gradcam" else None
            ),
            baseline=bundled_source.black_image(),
        )
        for method in ("guided_backprop", "gradcam")
    }
    assert not results["guided_backprop"].passed and results["guided_backprop"].mean_similarity > 0.6
    assert results["gradcam"].passed and results["gradcam"].mean_similarity < 0.4
    assert all(np.array_equal(a, b) for a, b in zip(before, bundled_model.get_weights(), strict=True))


# -- agreement and metadata -----------------------------------------------------------------------


def test_agreement_is_a_symmetric_rank_correlation_of_magnitudes(rng):
    base = rng.normal(size=(10, 10))
    maps = {"a": base, "negated": -base, "squared": base**2, "other": rng.normal(size=(10, 10))}
    matrix = metrics.agreement(maps)
    np.testing.assert_allclose(matrix, matrix.T)
    np.testing.assert_allclose(np.diag(matrix), 1.0)
    assert matrix[0, 1] == pytest.approx(1.0) and matrix[0, 2] == pytest.approx(1.0)  # same |map| order
    assert abs(matrix[0, 3]) < 0.4
    with pytest.raises(ValueError, match="different sizes"):
        metrics.agreement({"a": base, "b": np.zeros((5, 5))})


def test_similarity_of_a_constant_map_is_zero_not_nan(rng):
    assert metrics.spearman(rng.normal(size=(8, 8)), np.zeros((8, 8))) == 0.0
    assert np.isfinite(metrics.ssim(rng.normal(size=(8, 8)), np.zeros((8, 8))))


def test_every_metric_declares_what_a_ui_needs():
    for name, info in metrics.METRICS.items():
        assert info.name == name
        assert info.better in ("higher", "lower")
        low, high = info.value_range
        assert low < high
        assert info.label and info.paper and info.cost and info.reading
