"""How alike two maps are: the similarity measures the randomisation check and the agreement matrix use."""

from __future__ import annotations

import numpy as np
from scipy import stats
from skimage.metrics import structural_similarity

from explainers import pearson


def _ranks(attribution: np.ndarray, absolute: bool) -> np.ndarray:
    values = np.asarray(attribution, np.float64).ravel()
    return stats.rankdata(np.abs(values) if absolute else values)


def spearman(first: np.ndarray, second: np.ndarray, *, absolute: bool = True) -> float:
    """Spearman rank correlation over pixels, of |map| by default (comparable for signed and unsigned maps).

    A constant map has no ranking: against anything else it scores 0.
    """
    return pearson(_ranks(first, absolute), _ranks(second, absolute))


def rank_correlations(maps: dict[str, np.ndarray], *, absolute: bool = True) -> np.ndarray:
    """The symmetric matrix of pairwise Spearman correlations, in the order of ``maps``; ranks computed once."""
    ranks = [_ranks(attribution, absolute) for attribution in maps.values()]
    matrix = np.eye(len(ranks))
    for i in range(len(ranks)):
        for j in range(i + 1, len(ranks)):
            matrix[i, j] = matrix[j, i] = pearson(ranks[i], ranks[j])
    return matrix


def _unit(attribution: np.ndarray, percentile: float = 99.0) -> np.ndarray:
    magnitude = np.abs(np.asarray(attribution, np.float64))
    scale = float(np.percentile(magnitude, percentile)) or float(magnitude.max())
    return np.clip(magnitude / scale, 0.0, 1.0) if scale > 0 else np.zeros_like(magnitude)


def ssim(first: np.ndarray, second: np.ndarray) -> float:
    """Structural similarity (Wang et al., 2004) of |map|, each scaled to [0, 1] at its 99th percentile as shown."""
    a, b = _unit(first), _unit(second)
    window = min(7, *a.shape) // 2 * 2 + 1 if min(a.shape) >= 3 else 1
    if window < 3:
        return pearson(a, b)
    return float(structural_similarity(a, b, data_range=1.0, win_size=window))
