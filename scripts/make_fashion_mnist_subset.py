"""Write the class-balanced Fashion-MNIST subset the training view learns from, from Debian's dataset-fashion-mnist.

    apt-get install dataset-fashion-mnist
    .venv/bin/python scripts/make_fashion_mnist_subset.py

Takes the first 300 training images of each class (3,000) and the first 60 test images of each class (600, the
held-out set), in the files' order, so the subset is the same on every machine. Writes
``models/bundled/fashion_mnist_subset.npz`` (uint8 images, uint8 labels) and its card
``fashion_mnist_subset.md`` (provenance, licence, the command).
"""

from __future__ import annotations

import hashlib
import io
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from models.fashion_mnist import CLASS_NAMES, SUBSET_PATH  # noqa: E402
from scripts.train_fashion_mnist import DATA, load_split  # noqa: E402

TRAIN_PER_CLASS = 300
TEST_PER_CLASS = 60


def balanced(images: np.ndarray, labels: np.ndarray, per_class: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``per_class`` images of each class, in the file's order (interleaved as they come)."""
    chosen = np.sort(np.concatenate([np.flatnonzero(labels == label)[:per_class] for label in range(len(CLASS_NAMES))]))
    return images[chosen], labels[chosen]


def main() -> None:
    train_images, train_labels = balanced(*load_split("train"), TRAIN_PER_CLASS)
    test_images, test_labels = balanced(*load_split("t10k"), TEST_PER_CLASS)
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer, train_images=train_images, train_labels=train_labels, test_images=test_images, test_labels=test_labels
    )
    SUBSET_PATH.write_bytes(buffer.getvalue())
    digest = hashlib.sha256(buffer.getvalue()).hexdigest()
    SUBSET_PATH.with_suffix(".md").write_text(
        f"""# Fashion-MNIST subset (bundled, for the training view)

- **Data**: Fashion-MNIST by Zalando Research (Xiao, Rasul & Vollgraf, 2017), **MIT licence**
  (https://github.com/zalandoresearch/fashion-mnist), from Debian's `dataset-fashion-mnist` ({DATA}).
- **Subset**: the first {TRAIN_PER_CLASS} images of each class of the training split ({len(train_images):,} images)
  and the first {TEST_PER_CLASS} of each class of the test split ({len(test_images):,}, the held-out set), in the
  files' order; 28x28 uint8 grayscale, labels 0-9: {", ".join(CLASS_NAMES)}.
- **File**: `fashion_mnist_subset.npz` (arrays `train_images`, `train_labels`, `test_images`, `test_labels`),
  sha256 `{digest}`.
- **Made by**: `apt-get install dataset-fashion-mnist && .venv/bin/python scripts/make_fashion_mnist_subset.py`
"""
    )
    print(f"wrote {SUBSET_PATH} ({SUBSET_PATH.stat().st_size / 1e6:.2f} MB): {len(train_images)} + {len(test_images)}")


if __name__ == "__main__":
    main()
