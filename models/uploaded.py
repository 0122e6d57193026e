"""A user's own ``.keras`` or ``.h5`` classifier, loaded from bytes with nothing in the file executed.

Keras safe mode refuses to deserialise code, but its message for a ``Lambda`` layer is about a
flag to turn safety off. The model's configuration is read first (JSON inside the zip or the
HDF5 attribute) and a layer that carries code, or a class from a module outside Keras, is refused
here, by name, with advice the user can act on. Files are read from memory: nothing uploaded is
written to disk (``tests/test_sessions.py`` checks).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

import h5py
import keras

# keras.saving.load_model takes only paths; these two take an in-memory file (pinned Keras 3.15, see tests).
from keras.src.legacy.saving.legacy_h5_format import load_model_from_hdf5
from keras.src.saving.saving_lib import load_model as load_keras_zip

MODEL_EXTENSIONS = (".keras", ".h5", ".hdf5")
MAX_MODEL_BYTES = 200 << 20  # a ResNet50 .keras is ~100 MB; also the server's upload limit (.streamlit/config.toml)
# Layers whose configuration holds Python code or TensorFlow ops rather than a description.
_CODE_LAYERS = {
    "Lambda": "a Lambda layer holds Python code",
    "TFOpLambda": "a tf.keras TF-op layer wraps TensorFlow code",
    "SlicingOpLambda": "a tf.keras slicing layer wraps TensorFlow code",
}


class ModelFileError(ValueError):
    """The file is not a model we can load safely; the message is fit to show a user."""


@dataclass(frozen=True)
class ModelFile:
    model: keras.Model
    filename: str
    digest: str
    """SHA-256 of the file: identifies the model in caches and remembered settings."""

    @property
    def output_count(self) -> int:
        """The number of values the model outputs: classes, or 1 for a single sigmoid or score."""
        return math.prod(d or 1 for d in self.model.outputs[0].shape[1:])


def _layer_configs(config: object) -> Iterator[dict]:
    if isinstance(config, dict):
        if "class_name" in config:
            yield config
        for value in config.values():
            yield from _layer_configs(value)
    elif isinstance(config, list):
        for item in config:
            yield from _layer_configs(item)


def _refuse_code(config: dict) -> None:
    """Refuse, before anything is deserialised, a layer that carries code or a class from outside Keras."""
    foreign: dict[str, str] = {}
    for layer in _layer_configs(config):
        why = _CODE_LAYERS.get(layer.get("class_name"))
        if why:
            name = (layer.get("config") or {}).get("name", "?")
            raise ModelFileError(
                f"The model has a {layer['class_name']} layer ('{name}'): {why}, and code from an uploaded "
                "file is never run (Keras safe mode). Replace it with built-in Keras layers and save the model again."
            )
        module = layer.get("module")  # Keras 3 names each object's module; Keras' own start with "keras"
        if isinstance(module, str) and module.split(".")[0] not in ("keras", "builtins"):
            foreign.setdefault(str(layer["class_name"]), module)
    if foreign:
        classes = ", ".join(f"{name} (from {module})" for name, module in sorted(foreign.items()))
        raise ModelFileError(
            f"The model uses a custom layer or function that is not part of Keras: {classes}. Custom code is "
            "never loaded from an uploaded file; rebuild the model from built-in Keras layers and save it again."
        )


def _keras_config(data: bytes) -> dict:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return json.loads(archive.read("config.json"))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, UnicodeDecodeError):
        raise ModelFileError("This is not a Keras 3 .keras file (a zip with config.json).") from None


def _h5_config(file: h5py.File) -> dict:
    config = file.attrs.get("model_config")
    if config is None:
        raise ModelFileError(
            "This HDF5 file holds weights only, not a model; save the whole model with model.save('model.h5')."
        )
    try:
        return json.loads(config.decode() if isinstance(config, bytes) else config)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ModelFileError("The model description in this HDF5 file is not valid JSON.") from None


def _keras_error(error: Exception) -> ModelFileError:
    text = str(error)
    if "Could not locate" in text or "Unknown layer" in text or "Unrecognized" in text:
        return ModelFileError(
            "The model uses a custom layer or function that is not part of Keras, and custom code is never "
            f"loaded from an uploaded file. ({text.splitlines()[0][:200]})"
        )
    return ModelFileError(f"Keras could not rebuild this model: {text.splitlines()[0][:300] if text else error!r}")


def check_model_file(filename: str, size: int) -> None:
    """Refuse a file by its name and size alone, before it is read: wrong extension, empty, or too large."""
    if not filename.lower().endswith(MODEL_EXTENSIONS):
        raise ModelFileError(f"{filename}: upload a .keras or .h5 model file.")
    if size == 0:
        raise ModelFileError(f"{filename} is empty.")
    if size > MAX_MODEL_BYTES:
        megabytes, limit = math.ceil(size / 2**20), MAX_MODEL_BYTES >> 20  # rounded up: just over reads as over
        raise ModelFileError(f"{filename} is {megabytes} MB, over the {limit} MB limit for model files.")


def load_model_file(data: bytes, filename: str) -> ModelFile:
    """Load a whole model saved by Keras (``.keras``, or legacy ``.h5``) in safe mode, without compiling it."""
    check_model_file(filename, len(data))
    lowered = filename.lower()
    try:
        if lowered.endswith(".keras"):
            _refuse_code(_keras_config(data))
            model = load_keras_zip(io.BytesIO(data), compile=False, safe_mode=True)
        else:
            try:
                file = h5py.File(io.BytesIO(data), "r")
            except OSError:
                raise ModelFileError("This is not an HDF5 (.h5) file.") from None
            with file:
                _refuse_code(_h5_config(file))
                model = load_model_from_hdf5(file, compile=False, safe_mode=True)
    except ModelFileError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, OSError, NotImplementedError) as error:
        raise _keras_error(error) from None
    if not isinstance(model, keras.Model):
        raise ModelFileError("The file holds a layer, not a model.")
    return ModelFile(model, filename, hashlib.sha256(data).hexdigest())
