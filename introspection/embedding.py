"""Where a model puts whole images: one layer's features, globally pooled, projected to two dimensions (PCA,
t-SNE, UMAP), grouped by k-means, and searched for an image's nearest neighbours. Seeded: the same images and seed
give the same picture."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import keras
import numpy as np

PROJECTIONS = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}
"""The projections, by key: PCA is linear and exact; t-SNE and UMAP keep neighbourhoods, not distances."""
PCA_BEFORE = 50
"""t-SNE and UMAP run on the first principal components: faster, and the noise of the last dimensions is gone."""


def feature_layers(model: keras.Model) -> list[str]:
    """The model's top-level layers whose output can describe an image (every one after the input), last first."""
    return [layer.name for layer in reversed(model.layers) if not isinstance(layer, keras.layers.InputLayer)][1:]


def penultimate_layer(model: keras.Model) -> str:
    """The layer that feeds the classifier: the one before the last ``Dense`` (skipping its activation)."""
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    denses = [index for index, layer in enumerate(layers) if isinstance(layer, keras.layers.Dense)]
    if not denses or denses[-1] == 0:
        return layers[-2].name if len(layers) > 1 else layers[-1].name
    return layers[denses[-1] - 1].name


def features(model: keras.Model, inputs: np.ndarray, layer: str | None = None, batch_size: int = 64) -> np.ndarray:
    """(N, C) float32: ``layer``'s output (default: :func:`penultimate_layer`) for each of ``inputs`` (N, H, W, C),
    averaged over its spatial positions when it has any."""
    name = layer or penultimate_layer(model)
    extractor = keras.Model(model.inputs, model.get_layer(name).output)
    parts = []
    for start in range(0, len(inputs), batch_size):
        out = np.asarray(extractor([inputs[start : start + batch_size]], training=False), np.float32)
        parts.append(out.reshape(len(out), -1, out.shape[-1]).mean(axis=1) if out.ndim > 2 else out)
    return np.concatenate(parts)


def _standardised(values: np.ndarray) -> np.ndarray:
    spread = values.std(axis=0)
    return (values - values.mean(axis=0)) / np.where(spread > 0, spread, 1.0)


def project(values: np.ndarray, method: str, seed: int = 0) -> np.ndarray:
    """(N, 2) coordinates of ``values`` (N, C) by ``method`` (a key of :data:`PROJECTIONS`)."""
    from sklearn.decomposition import PCA

    if method not in PROJECTIONS:
        raise ValueError(f"unknown projection {method!r}; choose from {', '.join(PROJECTIONS)}")
    values = _standardised(np.asarray(values, np.float64))
    count = len(values)
    if method == "pca":
        return PCA(n_components=2, random_state=seed).fit_transform(values).astype(np.float32)
    reduced = PCA(n_components=min(PCA_BEFORE, *values.shape), random_state=seed).fit_transform(values)
    if method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = float(min(30.0, max(2.0, (count - 1) / 3)))
        return TSNE(2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(reduced).astype(np.float32)
    import umap

    neighbours = int(min(15, max(2, count - 1)))
    projected = umap.UMAP(n_neighbors=neighbours, random_state=seed, n_jobs=1).fit_transform(reduced)
    return np.asarray(projected, np.float32)


@dataclass(frozen=True)
class Clusters:
    labels: np.ndarray
    """Each image's cluster, 0..k-1."""
    names: tuple[str, ...]
    """Each cluster named by its images' majority class, with that class's share (e.g. ``Bag (92%)``)."""


def clusters(values: np.ndarray, classes: list[str], k: int, seed: int = 0) -> Clusters:
    """k-means on the standardised features; each cluster named after the class most of its images have."""
    from sklearn.cluster import KMeans

    labels = KMeans(n_clusters=k, random_state=seed, n_init=10).fit_predict(_standardised(values))
    names = []
    for cluster in range(k):
        members = [classes[i] for i in np.flatnonzero(labels == cluster)]
        name, count = Counter(members).most_common(1)[0] if members else ("(empty)", 0)
        names.append(f"{name} ({count / max(len(members), 1):.0%})")
    return Clusters(labels.astype(int), tuple(names))


def nearest(values: np.ndarray, index: int, count: int = 8) -> list[int]:
    """The ``count`` images closest to image ``index`` in feature space (cosine distance), closest first."""
    unit = values / np.maximum(np.linalg.norm(values, axis=1, keepdims=True), 1e-12)
    similarity = unit @ unit[index]
    similarity[index] = -np.inf
    return [int(i) for i in np.argsort(-similarity)[:count]]
