"""Seconds to project 2,000 images' features with PCA, t-SNE and UMAP (introspection/embedding.py), on the bundled
Fashion-MNIST CNN's penultimate layer over the bundled training subset.

    .venv/bin/python bench/embedding.py [--images 2000]

Goal (issue 15): t-SNE on 2,000 points in under 30 s on this CPU. UMAP's first call also compiles its numba code:
both the first and a second call are printed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from introspection import embedding
from models import fashion_mnist


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=2000)
    args = parser.parse_args()
    model = fashion_mnist.load()
    images = fashion_mnist.load_subset()["train_images"][: args.images].astype(np.float32)[..., None] / 255.0
    started = time.perf_counter()
    values = embedding.features(model, images)
    print(f"{len(values)} images, {values.shape[1]} features: {time.perf_counter() - started:.1f} s")
    for method, runs in (("pca", 1), ("tsne", 1), ("umap", 2)):
        for run in range(runs):
            started = time.perf_counter()
            embedding.project(values, method, seed=0)
            label = embedding.PROJECTIONS[method] + (" (second call)" if run else "")
            print(f"{label}: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
