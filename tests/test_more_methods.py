"""A property of each method beyond the first four, and the shared pass of explain_many."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import explainers
from explainers._graph import graph_for
from tests.conftest import build_three_shapes
from tests.test_explainers import linear_model, square_detector


@pytest.fixture
def square_image() -> np.ndarray:
    image = np.zeros((16, 16, 1), np.float32)
    image[9:13, 3:7] = 1.0
    return image


def test_gradient_input_of_a_linear_model_without_bias_sums_to_the_score(rng):
    weights, inputs = rng.normal(size=(2, 4, 4, 1))
    explanation = explainers.explain(linear_model(weights, bias=0.0), inputs, "gradient_input", target=0)
    np.testing.assert_allclose(explanation.attribution, (inputs * weights)[..., 0], rtol=1e-5, atol=1e-7)
    assert explanation.attribution.sum() == pytest.approx(explanation.score, rel=1e-5)


def test_occlusion_with_one_pixel_patches_on_a_linear_model_is_exact(rng):
    weights, inputs, baseline = rng.normal(size=(3, 4, 4, 1))
    explanation = explainers.explain(
        linear_model(weights), inputs, "occlusion", target=0, baseline=baseline, patch=1, stride=1
    )
    np.testing.assert_allclose(explanation.attribution, ((inputs - baseline) * weights)[..., 0], rtol=1e-4, atol=1e-6)
    assert explanation.passes == 17


def test_smoothgrad_squared_is_mean_squared_plus_variance(rng):
    """Per channel, E[g^2] = E[g]^2 + Var[g]: the three statistics come from the same samples."""
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(4, 3, activation="tanh"),
            keras.layers.Flatten(),
            keras.layers.Dense(2),
        ]
    )
    inputs = rng.normal(size=(8, 8, 1))
    fixed = {"samples": 12, "seed": 7, "reliability_target": None}
    maps = {
        "smoothgrad": explainers.explain(model, inputs, "smoothgrad", target=1, statistic="mean_gradient", **fixed),
        **{
            method: explainers.explain(model, inputs, method, target=1, **fixed)
            for method in ("smoothgrad_squared", "vargrad")
        },
    }
    maps = {method: explanation.attribution for method, explanation in maps.items()}
    np.testing.assert_allclose(
        maps["smoothgrad_squared"], maps["smoothgrad"] ** 2 + maps["vargrad"], rtol=1e-4, atol=1e-12
    )
    assert maps["vargrad"].max() > 0


def test_vargrad_without_noise_is_zero(rng):
    model = build_three_shapes()["functional"]
    explanation = explainers.explain(model, rng.uniform(size=(12, 12, 3)), "vargrad", noise_level=0.0, samples=4)
    assert np.abs(explanation.attribution).max() < 1e-10


@pytest.mark.parametrize("method", ["gradcam_plus_plus", "layercam", "scorecam"])
def test_cam_variants_peak_inside_the_square_that_fires(method, square_image):
    attribution = explainers.explain(square_detector(), square_image, method, target=0, layer="features").attribution
    row, col = np.unravel_index(np.argmax(attribution), attribution.shape)
    assert 9 <= row < 13 and 3 <= col < 7
    assert attribution[0:5, 10:16].max() == 0


def test_layercam_equals_gradcam_when_the_gradient_is_uniform(rng):
    """Global pooling into a linear layer with non-negative weights: the two weightings coincide."""
    model = square_detector()
    model.get_layer("classes").set_weights([np.abs(rng.normal(size=(2, 2))).astype(np.float32)])
    inputs = rng.uniform(size=(16, 16, 1))
    gradcam, layercam = (
        explainers.explain(model, inputs, method, target=0, layer="features").attribution
        for method in ("gradcam", "layercam")
    )
    np.testing.assert_allclose(layercam, gradcam, rtol=1e-5, atol=1e-7)


def test_scorecam_channel_cap_keeps_the_most_varied_channels(rng):
    model = build_three_shapes()["functional"]
    inputs = rng.uniform(size=(12, 12, 3))
    capped = explainers.explain(model, inputs, "scorecam", layer="conv2", max_channels=3)
    full = explainers.explain(model, inputs, "scorecam", layer="conv2", max_channels=None)
    assert capped.passes == 4 and full.passes == 9
    assert capped.options["channels"] == 3 and full.options["channels"] == 8


def negative_readout() -> keras.Model:
    """conv + ReLU, then a read-out whose weights are all negative: every upstream gradient is < 0."""
    model = keras.Sequential(
        [
            keras.Input((6, 6, 1)),
            keras.layers.Conv2D(3, 3, activation="relu", kernel_initializer=keras.initializers.Constant(0.5)),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(1, kernel_initializer=keras.initializers.Constant(-1.0)),
        ]
    )
    return model


def test_guided_backprop_blocks_negative_gradients_that_saliency_shows(rng):
    model, inputs = negative_readout(), rng.uniform(0.1, 1, size=(6, 6, 1))
    saliency = explainers.explain(model, inputs, "saliency", target=0).attribution
    guided = explainers.explain(model, inputs, "guided_backprop", target=0).attribution
    assert saliency.max() > 0
    assert guided.max() == 0


def test_guided_backprop_equals_saliency_without_relus(rng):
    weights, inputs = rng.normal(size=(2, 4, 4, 1))
    model = linear_model(weights)
    saliency, guided = (
        explainers.explain(model, inputs, m, target=0).attribution for m in ("saliency", "guided_backprop")
    )
    np.testing.assert_allclose(guided, saliency, rtol=1e-6)


def test_guided_gradcam_is_zero_wherever_gradcam_is(square_image):
    model = square_detector()
    gradcam = explainers.explain(model, square_image, "gradcam", target=0, layer="features").attribution
    guided = explainers.explain(model, square_image, "guided_gradcam", target=0, layer="features")
    assert guided.passes == 2
    assert np.all(guided.attribution[gradcam == 0] == 0)
    assert guided.attribution.max() > 0


def test_sanity_check_metadata_flags_the_guided_methods():
    failing = {name for name, info in explainers.METHODS.items() if not info.passes_randomization_check}
    assert failing == {"guided_backprop", "guided_gradcam"}


def test_single_pass_methods_share_one_pass_and_give_the_same_maps(rng):
    model = build_three_shapes()["nested"]
    inputs = rng.uniform(size=(12, 12, 3))
    methods = ["gradcam", "saliency", "layercam", "gradient_input"]
    together = {e.method: e for e in explainers.explain_many(model, inputs, methods, target=1)}
    graph = graph_for(model)
    union = graph.function(layer="backbone/conv2", input_gradients=True, layer_gradients=True)
    assert union.experimental_get_tracing_count() == 1
    for method in methods:
        alone = explainers.explain(model, inputs, method, target=1)
        np.testing.assert_allclose(together[method].attribution, alone.attribution, rtol=1e-5, atol=1e-8)
        assert set(together[method].options["shared_pass_with"]) == set(methods) - {method}


def test_explain_many_yields_cheap_methods_first(rng):
    model = build_three_shapes()["functional"]
    order = [
        e.method
        for e in explainers.explain_many(
            model,
            rng.uniform(size=(12, 12, 3)),
            ["smoothgrad", "scorecam", "integrated_gradients", "saliency"],
            options={"integrated_gradients": {"steps": 4}},
        )
    ]
    # By typical cost: 1 pass, Integrated Gradients' ~40, SmoothGrad's ~50, Score-CAM's pass per channel.
    assert order == ["saliency", "integrated_gradients", "smoothgrad", "scorecam"]


def test_explain_many_checks_everything_before_any_work(rng):
    model = build_three_shapes()["functional"]
    with pytest.raises(ValueError, match="unknown method"):
        explainers.explain_many(model, rng.uniform(size=(12, 12, 3)), ["saliency", "deconvnet"])
    with pytest.raises(ValueError, match="does not take"):
        explainers.explain_many(model, rng.uniform(size=(12, 12, 3)), ["saliency"], options={"saliency": {"steps": 3}})


def test_estimated_passes_match_the_passes_taken(rng):
    model = build_three_shapes()["functional"]
    inputs = rng.uniform(size=(12, 12, 3))
    cases = {
        "saliency": {},
        "smoothgrad": {"samples": 7, "reliability_target": None},
        "occlusion": {"patch": 4, "stride": 3},
        "scorecam": {"max_channels": 5},
        "guided_gradcam": {},
        "integrated_gradients": {"steps": 6, "tolerance": None},
    }
    for method, options in cases.items():
        explanation = explainers.explain(model, inputs, method, **options)
        assert explainers.estimated_passes(model, method, **options) == explanation.passes, method
    adaptive = explainers.explain(model, inputs, "integrated_gradients", steps=4, max_steps=40)
    assert adaptive.passes <= explainers.estimated_passes(model, "integrated_gradients", steps=4, max_steps=40) == 41
    sampled = explainers.explain(model, inputs, "vargrad", samples=4, max_samples=30, reliability_target=0.99)
    assert sampled.passes <= explainers.estimated_passes(model, "vargrad", samples=4, max_samples=30) == 30


def test_a_method_with_options_still_shares_the_pass(rng):
    model = build_three_shapes()["functional"]
    explanations = {
        e.method: e
        for e in explainers.explain_many(
            model, rng.uniform(size=(12, 12, 3)), ["gradcam", "scorecam"], options={"scorecam": {"max_channels": 2}}
        )
    }
    assert explanations["scorecam"].options["shared_pass_with"] == ["gradcam"]
    assert explanations["scorecam"].options["channels"] == 2


def square_score_model(size: int = 16, square: tuple[slice, slice] = (slice(2, 6), slice(9, 13))) -> keras.Model:
    """One raw score: the sum of the pixels inside a square (a linear model that sees nothing else)."""
    weights = np.zeros((size, size, 1), np.float32)
    weights[square] = 1.0
    model = keras.Sequential([keras.Input((size, size, 1)), keras.layers.Flatten(), keras.layers.Dense(1)])
    model.layers[-1].set_weights([weights.reshape(-1, 1), np.zeros(1, np.float32)])
    return model


def test_rise_masks_are_smooth_shifted_grids_that_keep_about_keep_of_the_image(rng):
    from explainers.rise import MaskDraws

    draws = MaskDraws(rng, 400, (37, 29), grid=4, keep=0.3)
    masks = draws.masks(0, 400)
    assert masks.shape == (400, 37, 29) and masks.min() >= 0 and masks.max() <= 1
    assert masks.mean() == pytest.approx(0.3, abs=0.03)
    assert 0.2 < np.mean((masks > 0.01) & (masks < 0.99)) < 0.9  # bilinear: soft edges, not a binary grid
    np.testing.assert_array_equal(draws.masks(10, 20), masks[10:20])  # built a batch at a time, the same masks


def test_rise_finds_the_only_region_the_model_looks_at_and_is_reproducible_by_seed():
    model, image = square_score_model(), np.ones((16, 16, 1), np.float32)
    explanation = explainers.explain(
        model, image, "rise", baseline=np.zeros_like(image), masks=600, seed=3, reliability_target=None, grid=4
    )
    attribution = explanation.attribution
    inside = attribution[2:6, 9:13].mean()
    outside = attribution[9:16, 0:6].mean()  # far from the square
    assert inside > 1.3 * outside
    assert explanation.passes == 601 and explanation.options["masks"] == 600
    assert 0 < explanation.reliability <= 1
    again = explainers.explain(
        model, image, "rise", baseline=np.zeros_like(image), masks=600, seed=3, reliability_target=None, grid=4
    )
    np.testing.assert_array_equal(again.attribution, attribution)


def test_rise_samples_until_reproducible_and_says_how_far_it_got(rng):
    model = build_three_shapes()["functional"]
    inputs = rng.uniform(size=(12, 12, 3))
    sampled = explainers.explain(model, inputs, "rise", masks=32, max_masks=3000, reliability_target=0.9)
    assert sampled.reliability >= 0.9 or sampled.options["masks"] == 3000
    assert sampled.passes == sampled.options["masks"] + 1
    assert sampled.passes <= explainers.estimated_passes(model, "rise", masks=32, max_masks=3000)
    capped = explainers.explain(model, inputs, "rise", masks=8, max_masks=20, reliability_target=0.999)
    assert capped.options["masks"] == 20 and capped.reliability < 0.999
