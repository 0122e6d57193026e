"""The models the app and the CLI can explain, each with its preprocessing and class names."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np

from models import efficientnet_lite, fashion_mnist
from models.cache import load_or_build
from models.class_names import imagenet_class_names

# Bump when the conversion changes, so that stale cached files are not reused.
_EFFICIENTNET_LITE0_CACHE = "efficientnet_lite0-imagenet-v1.keras"


@dataclass(frozen=True)
class ModelSource:
    """A model the user can pick, and what it takes to feed it."""

    name: str
    label: str
    description: str
    input_size: tuple[int, int]
    channels: int
    preprocess: Callable[[np.ndarray], np.ndarray]
    """Maps an RGB image of float pixel values 0..255, (H, W, 3), to the model's input, (H, W, channels)."""
    class_names: Callable[[], tuple[str, ...]]
    load: Callable[[], keras.Model]
    sample_kind: str = "photo"
    """Which bundled samples suit this model (see ``imaging.SAMPLES``)."""

    def black_image(self) -> np.ndarray:
        """A black image in the model's input space: the Integrated Gradients baseline."""
        return self.preprocess(np.zeros((*self.input_size, 3), np.float32))


def _load_efficientnet_lite0() -> keras.Model:
    return load_or_build(_EFFICIENTNET_LITE0_CACHE, efficientnet_lite.convert)


MODELS: dict[str, ModelSource] = {
    source.name: source
    for source in (
        ModelSource(
            name="efficientnet_lite0",
            label="EfficientNet-Lite0 (ImageNet-1k, bundled)",
            description="Google's EfficientNet-Lite0, 4.7 M parameters, 1000 ImageNet classes, 224x224 RGB.",
            input_size=(efficientnet_lite.INPUT_SIZE, efficientnet_lite.INPUT_SIZE),
            channels=3,
            preprocess=efficientnet_lite.preprocess,
            class_names=imagenet_class_names,
            load=_load_efficientnet_lite0,
        ),
        ModelSource(
            name="fashion_mnist_cnn",
            label="Fashion-MNIST CNN (bundled, 28x28 grayscale)",
            description="A small CNN this repository trains on Fashion-MNIST; 10 garment classes, 28x28 grayscale.",
            input_size=(fashion_mnist.INPUT_SIZE, fashion_mnist.INPUT_SIZE),
            channels=1,
            preprocess=fashion_mnist.preprocess,
            class_names=lambda: fashion_mnist.CLASS_NAMES,
            load=fashion_mnist.load,
            sample_kind="fashion-mnist",
        ),
    )
}
DEFAULT_MODEL = "efficientnet_lite0"


def get_source(name: str) -> ModelSource:
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; available: {', '.join(MODELS)}") from None
