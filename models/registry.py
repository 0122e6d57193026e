"""The models the app and the CLI can explain, each with its preprocessing and class names."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import keras
import numpy as np

import imaging
from models import efficientnet_lite, fashion_mnist
from models.cache import load_or_build
from models.class_names import check_class_count, imagenet_class_names, numbered_class_names
from models.keras_applications import APPLICATIONS, KerasApplication
from models.preprocessing import PRESETS
from models.uploaded import ModelFile, ModelFileError

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
    preprocessing: str
    """How ``preprocess`` maps pixels, in words (shown on the Model page and in the CLI summary)."""
    group: str = "Bundled"
    sample_kind: str = "photo"
    """Which bundled samples suit this model (see ``imaging.SAMPLES``)."""
    unavailable_reason: Callable[[], str | None] = lambda: None
    """None when the model can be loaded here; otherwise why not and what to do."""
    download: Callable[[], None] | None = None
    """Fetches what an unavailable model lacks, when the machine is online (raises with the reason if not)."""
    file_sha256: str | None = None
    """For a model read from a file: the file's SHA-256, which names exactly what was explained."""

    def prepare(self, values: np.ndarray, window: imaging.Window) -> tuple[np.ndarray, np.ndarray]:
        """An image's stored values as this model takes them: through the intensity ``window`` and resized to the
        input size (float 0..255, the picture "as the model sees it"), and that picture preprocessed (the input)."""
        image = imaging.resize_for_model(imaging.apply_window(values, window), self.input_size)
        return image, self.preprocess(image)

    def black_image(self) -> np.ndarray:
        """A black image in the model's input space: the Integrated Gradients baseline."""
        return self.preprocess(np.zeros((*self.input_size, 3), np.float32))

    def reads_bgr(self) -> bool:
        """Whether the preprocessing hands the model its colour channels reversed (Caffe-style weights): where a
        pure red image lands, measured rather than read from the preset's name."""
        if self.channels != 3:
            return False
        red = np.zeros((*self.input_size, 3), np.float32)
        red[..., 0] = 255.0
        change = np.abs(self.preprocess(red) - self.black_image()).mean(axis=(0, 1))
        return int(np.argmax(change)) == 2


def _load_efficientnet_lite0() -> keras.Model:
    return load_or_build(_EFFICIENTNET_LITE0_CACHE, efficientnet_lite.convert)


def _keras_application_source(app: KerasApplication) -> ModelSource:
    preset = PRESETS[app.preprocessing]
    return ModelSource(
        name=app.name,
        label=f"{app.label} (Keras Applications, ImageNet)",
        description=f"{app.label} from keras.applications, 1000 ImageNet classes, {app.input_size}px RGB.",
        input_size=(app.input_size, app.input_size),
        channels=3,
        preprocess=partial(preset.apply, channels=3),
        class_names=imagenet_class_names,
        load=app.build,
        preprocessing=f"{preset.label}: {preset.description}",
        group="Keras Applications",
        unavailable_reason=app.unavailable_reason,
        download=app.download,
    )


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
            preprocessing="(pixel - 127) / 128 on RGB, as in Google's EfficientNet-Lite release",
        ),
        ModelSource(
            name="fashion_mnist_cnn",
            label="Fashion-MNIST CNN (bundled, 28x28 grayscale)",
            description="A small CNN this repository trains on Fashion-MNIST; 10 garment classes, 28x28 grayscale.",
            input_size=(fashion_mnist.INPUT_SIZE, fashion_mnist.INPUT_SIZE),
            channels=1,
            preprocess=partial(PRESETS["unit"].apply, channels=1),
            class_names=lambda: fashion_mnist.CLASS_NAMES,
            load=fashion_mnist.load,
            preprocessing="luma (ITU-R BT.601) divided by 255: 0..1 grayscale, as in training",
            sample_kind="fashion-mnist",
        ),
        *(_keras_application_source(app) for app in APPLICATIONS.values()),
    )
}
DEFAULT_MODEL = "efficientnet_lite0"
DEFAULT_INPUT_SIZE = 224
"""Used for a model whose input size is free (fully convolutional)."""


def _counted(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def uploaded_source(file: ModelFile, preset: str, class_names: tuple[str, ...] | None = None) -> ModelSource:
    """A user's model as a source like the others: size and channels read from it, preprocessing chosen.

    Raises ``ModelFileError`` for a model that is not an image classifier, ``ClassNamesError`` when the
    names do not fit its outputs.
    """
    model = file.model
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ModelFileError(
            f"The model has {_counted(len(model.inputs), 'input')} and {_counted(len(model.outputs), 'output')}; "
            "an image classifier has one of each."
        )
    input_shape, output_shape = tuple(model.inputs[0].shape), tuple(model.outputs[0].shape)
    if len(input_shape) != 4:
        raise ModelFileError(f"The model takes inputs of shape {input_shape[1:]}; an image model takes (H, W, C).")
    _, height, width, channels = input_shape
    if channels not in (1, 3):
        raise ModelFileError(f"The model takes {channels}-channel images; only 1 (gray) or 3 (RGB) are supported.")
    if len(output_shape) != 2:
        raise ModelFileError(f"The model's output has shape {output_shape[1:]}; a classifier outputs (classes,).")
    outputs = int(output_shape[1])
    if class_names:
        names = check_class_count(class_names, outputs)
    else:
        names = ("positive class",) if outputs == 1 else numbered_class_names(outputs)
    size = (height or DEFAULT_INPUT_SIZE, width or DEFAULT_INPUT_SIZE)
    chosen = PRESETS[preset]
    return ModelSource(
        name=f"upload-{file.digest[:12]}",
        label=f"{file.filename} (your model)",
        description=f"{file.filename}: {model.count_params():,} parameters, {outputs} outputs, "
        f"{size[0]}x{size[1]}x{channels} input" + ("" if height and width else " (size free; 224 used)"),
        input_size=size,
        channels=channels,
        preprocess=partial(chosen.apply, channels=channels),
        class_names=lambda: names,
        load=lambda: model,
        preprocessing=f"{chosen.label}: {chosen.description}",
        group="Your model",
        sample_kind="photo" if channels == 3 else "fashion-mnist",
        file_sha256=file.digest,
    )


def trained_source(name: str, label: str, description: str, model: keras.Model) -> ModelSource:
    """A Fashion-MNIST model trained in this session (the training view): preprocessed as the bundled one."""
    return ModelSource(
        name=name,
        label=label,
        description=description,
        input_size=(fashion_mnist.INPUT_SIZE, fashion_mnist.INPUT_SIZE),
        channels=1,
        preprocess=partial(PRESETS["unit"].apply, channels=1),
        class_names=lambda: fashion_mnist.CLASS_NAMES,
        load=lambda: model,
        preprocessing="luma (ITU-R BT.601) divided by 255: 0..1 grayscale, as in training",
        group="Trained here",
        sample_kind="fashion-mnist",
    )


def get_source(name: str) -> ModelSource:
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; available: {', '.join(MODELS)}") from None
