"""The bundled Fashion-MNIST CNN: a small grayscale model the repository trains itself.

``scripts/train_fashion_mnist.py`` makes it from Debian's dataset-fashion-mnist; the model card
beside the ``.keras`` file gives the data, the test accuracy and the command.
"""

from __future__ import annotations

from pathlib import Path

import keras

MODEL_PATH = Path(__file__).resolve().parent / "bundled" / "fashion_mnist_cnn.keras"
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
