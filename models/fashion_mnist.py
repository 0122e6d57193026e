"""The bundled Fashion-MNIST CNN: a small grayscale model the repository trains itself.

``scripts/train_fashion_mnist.py`` makes it from Debian's dataset-fashion-mnist; the model card
beside the ``.keras`` file gives the data, the test accuracy and the command.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

MODEL_PATH = Path(__file__).resolve().parent / "bundled" / "fashion_mnist_cnn.keras"
SUBSET_PATH = Path(__file__).resolve().parent / "bundled" / "fashion_mnist_subset.npz"
"""A class-balanced subset for training in the app (``scripts/make_fashion_mnist_subset.py``; card beside it)."""
SAMPLES_DIR = Path(__file__).resolve().parent.parent / "imaging" / "samples"
INPUT_SIZE = 28
CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


def load() -> keras.Model:
    """The committed model, loaded with Keras safe mode on."""
    return keras.saving.load_model(MODEL_PATH, compile=False, safe_mode=True)


def load_subset() -> dict[str, np.ndarray]:
    """The bundled subset: ``train_images`` (3000, 28, 28) uint8, ``train_labels``, ``test_images`` (600, 28, 28),
    ``test_labels``; 300 and 60 per class."""
    with np.load(SUBSET_PATH) as arrays:
        return {name: arrays[name] for name in arrays.files}
