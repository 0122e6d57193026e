"""The models the app and the CLI can explain, each with its preprocessing and class names."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np

from models import efficientnet_lite
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
    """Maps an image of float pixel values 0..255, (H, W, channels), to the model's input space."""
    class_names: Callable[[], tuple[str, ...]]
    load: Callable[[], keras.Model]

    def black_image(self) -> np.ndarray:
        """A black image in the model's input space: the Integrated Gradients baseline."""
        return self.preprocess(np.zeros((*self.input_size, self.channels), np.float32))


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
    )
}
DEFAULT_MODEL = "efficientnet_lite0"


def get_source(name: str) -> ModelSource:
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; available: {', '.join(MODELS)}") from None
