"""The feature embedding (introspection/embedding.py) on the bundled Fashion-MNIST model and its test subset: the
penultimate layer's features, seeded projections that repeat, clusters named by their majority class, and
neighbours that mostly share a class."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from introspection import embedding
from models import fashion_mnist


@pytest.fixture(scope="module")
def fashion_features():
    model = fashion_mnist.load()
    subset = fashion_mnist.load_subset()
    inputs = subset["test_images"].astype(np.float32)[..., None] / 255.0
    names = [fashion_mnist.CLASS_NAMES[label] for label in subset["test_labels"]]
    return model, inputs, embedding.features(model, inputs), names


def test_the_features_are_the_layer_that_feeds_the_classifier(fashion_features):
    model, inputs, values, _ = fashion_features
    layer = embedding.penultimate_layer(model)
    last_dense = [each for each in model.layers if isinstance(each, keras.layers.Dense)][-1]
    assert last_dense.input.shape[-1] == values.shape[1] and model.get_layer(layer).output is last_dense.input
    assert values.shape == (len(inputs), values.shape[1]) and values.dtype == np.float32
    direct = keras.Model(model.inputs, model.get_layer(layer).output)(inputs[:5]).numpy()
    np.testing.assert_allclose(
        values[:5],
        direct.reshape(5, -1, direct.shape[-1]).mean(axis=1) if direct.ndim > 2 else direct,
        rtol=1e-5,
        atol=1e-6,
    )
    assert layer in embedding.feature_layers(model)


@pytest.mark.parametrize("method", ["pca", "tsne", "umap"])
def test_a_projection_repeats_with_its_seed(fashion_features, method):
    _, _, values, _ = fashion_features
    few = values[:150]
    first, again = embedding.project(few, method, seed=3), embedding.project(few, method, seed=3)
    assert first.shape == (150, 2) and np.isfinite(first).all()
    np.testing.assert_array_equal(first, again)


def test_clusters_are_named_by_their_majority_class_and_neighbours_share_it(fashion_features):
    _, _, values, names = fashion_features
    found = embedding.clusters(values, names, k=10, seed=0)
    assert len(found.names) == 10 and set(found.labels) == set(range(10))
    for cluster, name in enumerate(found.names):
        members = [names[i] for i in np.flatnonzero(found.labels == cluster)]
        majority = max(set(members), key=members.count)
        assert name == f"{majority} ({members.count(majority) / len(members):.0%})"
    same = [np.mean([names[j] == names[i] for j in embedding.nearest(values, i, 8)]) for i in range(0, 600, 20)]
    assert np.mean(same) > 0.7  # the classifier's own features put a garment among its kind
    assert 5 not in embedding.nearest(values, 5, 8)
    with pytest.raises(ValueError, match="unknown projection"):
        embedding.project(values, "mds")
