"""LIME and Kernel SHAP: the estimators' identities, and agreement with the lime and shap packages (test extras)."""

from __future__ import annotations

import itertools
import math

import keras
import numpy as np
import pytest
import skimage.data
import skimage.transform

import explainers
from explainers._graph import graph_for
from explainers._surrogate import Coalitions, superpixels
from explainers.kernel_shap import constrained_fit, every_coalition, shapley_kernel


def brute_force_shapley(value: dict[tuple, float], players: int) -> np.ndarray:
    """Shapley values from their definition: marginal contributions averaged over every order of the players."""
    result = np.zeros(players)
    for order in itertools.permutations(range(players)):
        present = np.zeros(players)
        for player in order:
            before = value[tuple(present)]
            present[player] = 1
            result[player] += value[tuple(present)] - before
    return result / math.factorial(players)


def test_the_constrained_kernel_fit_over_every_coalition_gives_exact_shapley_values(rng):
    players = 5
    value = {z: float(rng.normal()) for z in itertools.product((0.0, 1.0), repeat=players)}  # any game at all
    coalitions = every_coalition(players)
    fitted = constrained_fit(
        coalitions,
        np.array([value[tuple(z)] for z in coalitions]),
        shapley_kernel(coalitions.sum(axis=1), players),
        empty=value[(0.0,) * players],
        full=value[(1.0,) * players],
    )
    np.testing.assert_allclose(fitted, brute_force_shapley(value, players), atol=1e-9)


def stripes_score_model(size: int = 24) -> tuple[keras.Model, np.ndarray]:
    """A single raw score, linear in the pixels (an additive game over any segments), and a striped image."""
    weights = np.random.default_rng(5).normal(size=(size, size, 3)).astype(np.float32)
    model = keras.Sequential([keras.Input((size, size, 3)), keras.layers.Flatten(), keras.layers.Dense(1)])
    model.layers[-1].set_weights([weights.reshape(-1, 1), np.zeros(1, np.float32)])
    image = np.zeros((size, size, 3), np.float32)
    for stripe in range(6):  # six flat colour stripes: SLIC cuts along them
        image[:, stripe * size // 6 : (stripe + 1) * size // 6] = np.random.default_rng(stripe).uniform(0.2, 1, 3)
    return model, image


@pytest.mark.parametrize("max_samples", [1000, 20])  # every coalition (exact), then sampled
def test_kernel_shap_of_a_linear_model_is_each_segments_own_contribution(max_samples):
    model, image = stripes_score_model()
    explanation = explainers.explain(
        model, image, "kernel_shap", segments=6, samples=8, max_samples=max_samples, reliability_target=0.9
    )
    segments = explanation.segments
    weights = model.layers[-1].get_weights()[0].reshape(image.shape)
    for segment in np.unique(segments):
        contribution = float((weights * image)[segments == segment].sum())  # the fill is zeros: black
        assert explanation.attribution[segments == segment][0] == pytest.approx(contribution, abs=1e-3)
    assert explanation.options["exact"] is (max_samples == 1000)
    assert explanation.completeness_relative < 1e-6  # efficiency holds by construction


def test_lime_ranks_a_linear_models_segments_by_their_contribution():
    model, image = stripes_score_model()
    explanation = explainers.explain(model, image, "lime", segments=6, samples=400, reliability_target=None)
    segments = explanation.segments
    weights = model.layers[-1].get_weights()[0].reshape(image.shape)
    contributions = [float((weights * image)[segments == s].sum()) for s in np.unique(segments)]
    found = [float(explanation.attribution[segments == s][0]) for s in np.unique(segments)]
    assert np.argsort(found).tolist() == np.argsort(contributions).tolist()
    assert explanation.passes == 401 and explanation.options["fill"] == "baseline"


@pytest.mark.parametrize("method", ["lime", "kernel_shap"])
def test_seeds_reproduce_a_map_and_the_blur_fill_is_an_option(method, rng):
    model, image = stripes_score_model()
    first = explainers.explain(model, image, method, samples=64, reliability_target=None, seed=2)
    again = explainers.explain(model, image, method, samples=64, reliability_target=None, seed=2)
    np.testing.assert_array_equal(first.attribution, again.attribution)
    blurred = explainers.explain(model, image, method, samples=64, reliability_target=None, fill="blur")
    assert not np.allclose(blurred.attribution, first.attribution)
    with pytest.raises(ValueError, match="fill"):
        explainers.explain(model, image, method, fill="grey")


# -- the packages, as references ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_cnn_and_photo():
    init = keras.initializers.GlorotUniform(seed=7)
    model = keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            keras.layers.Conv2D(8, 3, activation="relu", kernel_initializer=init),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(8, 3, activation="relu", kernel_initializer=init),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(4, kernel_initializer=init),
            keras.layers.Activation("softmax"),
        ]
    )
    photo = skimage.transform.resize(skimage.data.astronaut(), (32, 32), anti_aliasing=True).astype(np.float32)
    return model, photo


def target_of(model, photo) -> int:
    return int(np.argmax(explainers.predict(model, photo[None])[0]))


def test_kernel_shap_equals_the_shap_packages_exact_values(small_cnn_and_photo):
    shap = pytest.importorskip("shap")
    model, photo = small_cnn_and_photo
    target = target_of(model, photo)
    ours = explainers.explain(model, photo, "kernel_shap", target=target, segments=10, max_samples=4096)
    assert ours.options["exact"]
    labels = ours.segments
    players = int(labels.max()) + 1
    request = explainers._base.Request(graph_for(model), photo, target, None, np.zeros_like(photo))
    coalitions = Coalitions(request, labels, np.zeros_like(photo), None)
    reference = shap.KernelExplainer(coalitions.evaluate, np.zeros((1, players)), silent=True)
    values = np.ravel(reference.shap_values(np.ones((1, players)), nsamples=2**players, silent=True))
    found = [float(ours.attribution[labels == s][0]) for s in range(players)]
    np.testing.assert_allclose(found, values, atol=1e-5)


def test_lime_ranks_segments_as_the_lime_package_does(small_cnn_and_photo):
    lime_image = pytest.importorskip("lime.lime_image")
    from scipy.stats import spearmanr

    model, photo = small_cnn_and_photo
    target = target_of(model, photo)
    ours = explainers.explain(model, photo, "lime", target=target, samples=1000, reliability_target=None)
    labels = ours.segments
    reference = lime_image.LimeImageExplainer(random_state=0).explain_instance(
        photo.astype(np.float64),
        lambda images: explainers.predict(model, images.astype(np.float32)),
        labels=(target,),
        top_labels=None,
        hide_color=0,
        num_samples=1000,
        segmentation_fn=lambda _image: labels,
        random_seed=0,
    )
    theirs = dict(reference.local_exp[target])
    players = int(labels.max()) + 1
    found = [float(ours.attribution[labels == s][0]) for s in range(players)]
    assert spearmanr(found, [theirs[s] for s in range(players)]).statistic > 0.8


def test_superpixels_cover_the_image_with_labels_from_zero(rng):
    photo = skimage.data.astronaut()[::4, ::4].astype(np.float32)
    for method in ("slic", "quickshift"):
        labels = superpixels(photo, method, segments=30)
        assert labels.shape == photo.shape[:2] and labels.min() == 0
        assert set(np.unique(labels)) == set(range(labels.max() + 1))
        assert 5 < labels.max() + 1 < 400
    gray = superpixels(photo[..., :1], "slic", segments=20)
    assert gray.max() >= 2
