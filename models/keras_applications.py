"""Keras Applications with their ImageNet weights, when the weights are on this machine.

Keras downloads weights into its cache (``$KERAS_HOME/models``, by default ``~/.keras/models``)
the first time a model is built with ``weights="imagenet"``. The app never downloads unasked: a
model whose weights file is missing is listed as unavailable, with the command that fetches it on
a machine that is online (or the file name to copy into the cache), and :meth:`download` fetches
it when the user asks and the machine is online.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import keras


class WeightsUnavailableError(RuntimeError):
    """The model's weights are not on this machine; the message says how to add them."""


DOWNLOAD_TIMEOUT_S = 60.0
_DOWNLOAD_LOCK = threading.Lock()


@contextlib.contextmanager
def _socket_timeout(seconds: float) -> Iterator[None]:
    """Bound Keras' urllib download, which has no timeout of its own (Streamlit's sockets set theirs)."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


@dataclass(frozen=True)
class KerasApplication:
    name: str
    constructor: str
    """Attribute of ``keras.applications``."""
    label: str
    input_size: int
    preprocessing: str
    """A key of ``models.preprocessing.PRESETS``, matching the module's ``preprocess_input``."""
    weights_file: str
    size_mb: int

    def build(self, weights: str | None = "imagenet") -> keras.Model:
        """The model with the 1000-class ImageNet head (``weights=None``: random weights, for tests)."""
        if weights == "imagenet" and not weights_path(self).exists():
            raise WeightsUnavailableError(self.unavailable_reason())
        constructor = getattr(keras.applications, self.constructor)
        return constructor(weights=weights, include_top=True, input_shape=(self.input_size, self.input_size, 3))

    def download(self, timeout_s: float = DOWNLOAD_TIMEOUT_S) -> None:
        """Fetch the ImageNet weights into the Keras cache (needs internet access to Google's storage)."""
        constructor = getattr(keras.applications, self.constructor)
        with _DOWNLOAD_LOCK, _socket_timeout(timeout_s):
            try:
                constructor(weights="imagenet", include_top=True)
            except Exception as error:  # Keras wraps every network failure in a bare Exception
                how_to = self.unavailable_reason() or ""
                raise WeightsUnavailableError(
                    f"downloading {self.weights_file} failed ({str(error).splitlines()[0][:200]}). "
                    f"{how_to[:1].upper()}{how_to[1:]}"
                ) from None

    def unavailable_reason(self) -> str | None:
        """None when the ImageNet weights are in the Keras cache; otherwise what is missing and how to add it."""
        if weights_path(self).exists():
            return None
        return (
            f"its ImageNet weights ({self.weights_file}, {self.size_mb} MB) are not in the Keras cache "
            f"{weights_path(self).parent}. On a machine with internet access run "
            f"`python -c \"import keras; keras.applications.{self.constructor}(weights='imagenet')\"` "
            f"and copy the file from its ~/.keras/models to that folder."
        )


def keras_cache_dir() -> Path:
    """Where ``keras.utils.get_file`` keeps downloaded weights: ``$KERAS_HOME/models``, else ``~/.keras/models``."""
    home = os.environ.get("KERAS_HOME") or Path("~/.keras").expanduser()
    return Path(home) / "models"


def weights_path(application: KerasApplication) -> Path:
    return keras_cache_dir() / application.weights_file


APPLICATIONS: dict[str, KerasApplication] = {
    app.name: app
    for app in (
        KerasApplication(
            "mobilenet_v2",
            "MobileNetV2",
            "MobileNetV2",
            224,
            "symmetric",
            "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5",
            14,
        ),
        KerasApplication(
            "resnet50", "ResNet50", "ResNet50", 224, "caffe", "resnet50_weights_tf_dim_ordering_tf_kernels.h5", 98
        ),
        KerasApplication("efficientnet_b0", "EfficientNetB0", "EfficientNetB0", 224, "raw", "efficientnetb0.h5", 21),
        KerasApplication("vgg16", "VGG16", "VGG16", 224, "caffe", "vgg16_weights_tf_dim_ordering_tf_kernels.h5", 528),
        KerasApplication(
            "densenet121",
            "DenseNet121",
            "DenseNet121",
            224,
            "torch",
            "densenet121_weights_tf_dim_ordering_tf_kernels.h5",
            33,
        ),
        KerasApplication(
            "xception", "Xception", "Xception", 299, "symmetric", "xception_weights_tf_dim_ordering_tf_kernels.h5", 88
        ),
        KerasApplication(
            "inception_v3",
            "InceptionV3",
            "InceptionV3",
            299,
            "symmetric",
            "inception_v3_weights_tf_dim_ordering_tf_kernels.h5",
            92,
        ),
        KerasApplication("convnext_tiny", "ConvNeXtTiny", "ConvNeXt-Tiny", 224, "raw", "convnext_tiny.h5", 110),
    )
}
