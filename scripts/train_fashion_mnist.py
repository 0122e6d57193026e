"""Train the bundled Fashion-MNIST CNN, reproducibly, from Debian's dataset-fashion-mnist.

    apt-get install dataset-fashion-mnist
    .venv/bin/python scripts/train_fashion_mnist.py

Writes ``models/bundled/fashion_mnist_cnn.keras``, its model card ``fashion_mnist_cnn.md`` (data,
test accuracy, the command that made it) and one test-split image per class under
``imaging/samples/``. Seeds are fixed; on a 2-core CPU it takes a few minutes.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import struct
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import keras  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from models.fashion_mnist import CLASS_NAMES, MODEL_PATH, SAMPLES_DIR  # noqa: E402

DATA = Path("/usr/share/datasets/fashion-mnist")
EPOCHS = 6
SEED = 20261121


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (the MNIST format): big-endian magic, dimensions, then raw uint8 data."""
    with gzip.open(path, "rb") as file:
        _, dtype_code, ndim = struct.unpack(">HBB", file.read(4))
        if dtype_code != 0x08:
            raise ValueError(f"{path}: expected uint8 data")
        shape = struct.unpack(f">{ndim}I", file.read(4 * ndim))
        return np.frombuffer(file.read(), np.uint8).reshape(shape)


def load_split(prefix: str) -> tuple[np.ndarray, np.ndarray]:
    images = read_idx(DATA / f"{prefix}-images-idx3-ubyte.gz")
    labels = read_idx(DATA / f"{prefix}-labels-idx1-ubyte.gz")
    return images, labels


def build() -> keras.Model:
    inputs = keras.Input((28, 28, 1), name="image")
    x = keras.layers.Conv2D(32, 3, padding="same", activation="relu", name="conv1")(inputs)
    x = keras.layers.Conv2D(32, 3, padding="same", activation="relu", name="conv2")(x)
    x = keras.layers.MaxPooling2D(name="pool1")(x)
    x = keras.layers.Conv2D(64, 3, padding="same", activation="relu", name="conv3")(x)
    x = keras.layers.Conv2D(64, 3, padding="same", activation="relu", name="conv4")(x)
    x = keras.layers.MaxPooling2D(name="pool2")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dropout(0.3, name="dropout")(x)
    x = keras.layers.Dense(128, activation="relu", name="dense")(x)
    logits = keras.layers.Dense(len(CLASS_NAMES), name="logits")(x)
    outputs = keras.layers.Activation("softmax", name="probabilities")(logits)
    return keras.Model(inputs, outputs, name="fashion_mnist_cnn")


def main() -> None:
    keras.utils.set_random_seed(SEED)
    train_images, train_labels = load_split("train")
    test_images, test_labels = load_split("t10k")
    scale = lambda images: (images.astype(np.float32) / 255.0)[..., None]  # noqa: E731 - the model's preprocessing
    model = build()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    started = time.perf_counter()
    model.fit(scale(train_images), train_labels, batch_size=128, epochs=EPOCHS, validation_split=0.1, verbose=2)
    minutes = (time.perf_counter() - started) / 60
    _, accuracy = model.evaluate(scale(test_images), test_labels, verbose=0)
    print(f"test accuracy {accuracy:.4f} after {EPOCHS} epochs ({minutes:.1f} min)")

    MODEL_PATH.parent.mkdir(parents=True, exist_ok=True)
    model.save(MODEL_PATH)
    MODEL_PATH.with_suffix(".md").write_text(
        f"""# Fashion-MNIST CNN (bundled)

- **Data**: Fashion-MNIST (Zalando Research, MIT licence) from Debian's `dataset-fashion-mnist`:
  60,000 training images (10 % held out for validation during training), 10,000 test images;
  28x28 grayscale, 10 classes: {", ".join(CLASS_NAMES)}.
- **Model**: 4 conv layers (32, 32, 64, 64; ReLU), 2 max-pools, dropout 0.3, dense 128, logits and
  a separate softmax; {model.count_params():,} parameters. Input: pixel values / 255 (white garment on
  black, as in the dataset). Default Grad-CAM layer: `pool2` (7x7, the last spatial layer); `conv4` is 14x14.
- **Training**: Adam 1e-3, batch 128, {EPOCHS} epochs, seed {SEED}, {minutes:.1f} min on this project's 2-core CPU.
- **Test accuracy**: {accuracy:.4f} on the 10,000 test images.
- **Made by**: `apt-get install dataset-fashion-mnist && .venv/bin/python scripts/train_fashion_mnist.py`
"""
    )
    write_samples(test_images, test_labels)
    print(f"wrote {MODEL_PATH} and {len(CLASS_NAMES)} samples in {SAMPLES_DIR}")


def write_samples(test_images: np.ndarray, test_labels: np.ndarray) -> None:
    """The first test image of each class as PNG, and an index of their labels for the gallery."""
    SAMPLES_DIR.mkdir(parents=True, exist_ok=True)
    index = {}
    for label, name in enumerate(CLASS_NAMES):
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        filename = f"fashion-{label}-{slug}.png"
        Image.fromarray(test_images[int(np.flatnonzero(test_labels == label)[0])]).save(SAMPLES_DIR / filename)
        index[filename] = name
    (SAMPLES_DIR / "fashion-mnist.json").write_text(json.dumps(index, indent=1) + "\n")


if __name__ == "__main__":
    main()
