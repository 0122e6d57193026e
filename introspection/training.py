"""Train a small CNN on the bundled Fashion-MNIST subset and record how it learns, epoch by epoch.

The "backpropagation visualisation" of this project's seeds: the loss and accuracy per batch and per epoch,
each layer's weight distribution and gradient norm per epoch, the fraction of units that never fire on the
held-out images, and a filmstrip of Grad-CAM (Selvaraju et al., 2017) and saliency (Simonyan et al., 2014) maps
of the same probe images after each epoch, so that the explanations can be watched sharpening as the model learns.

Everything lives in the :class:`TrainingRun` that :func:`train` fills in as it goes (a page reads it while it
trains); each epoch's weights are kept so that any epoch can be opened as a model of its own
(:func:`checkpoint_model`). A run builds its own model with seeded initialisers and touches no global state, so
runs in two sessions do not interfere.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

import explainers
from models.fashion_mnist import CLASS_NAMES, INPUT_SIZE

MAX_EPOCHS = 12
HISTOGRAM_BINS = 30


@dataclass(frozen=True)
class Architecture:
    label: str
    convolutions: tuple[int, ...]
    """Filters of each 3x3 conv layer; a 2x2 max-pool follows every second one (and the last)."""
    dense: int
    batch_norm: bool = False


ARCHITECTURES = {
    "tiny": Architecture("Tiny: 2 conv layers (8, 16), dense 32", (8, 16), 32),
    "small": Architecture("Small: 3 conv layers (16, 32, 32), dense 64", (16, 32, 32), 64),
    "small_bn": Architecture("Small with batch normalisation", (16, 32, 32), 64, batch_norm=True),
    "wide": Architecture("Wide: 4 conv layers (32, 32, 64, 64), dense 128", (32, 32, 64, 64), 128),
}
LEARNING_RATES = (3e-4, 1e-3, 3e-3, 1e-2)


@dataclass(frozen=True)
class TrainingConfig:
    architecture: str = "small"
    epochs: int = 4
    learning_rate: float = 1e-3
    batch_size: int = 64
    seed: int = 0
    train_images: int | None = None
    """Use only the first N training images (None: all 3,000); for quick runs."""
    probes: int = 4
    """Held-out images in the filmstrip, one per class from the first."""

    def __post_init__(self) -> None:
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"unknown architecture {self.architecture!r}; choose from {', '.join(ARCHITECTURES)}")
        if not 1 <= self.epochs <= MAX_EPOCHS:
            raise ValueError(f"epochs must be 1..{MAX_EPOCHS}")
        if self.learning_rate <= 0 or self.batch_size < 1:
            raise ValueError("the learning rate and the batch size must be positive")


def build_model(architecture: str, seed: int = 0) -> keras.Model:
    """A fresh functional CNN for 28x28x1 inputs in 0..1: conv blocks, dense, ``logits``, softmax."""
    spec = ARCHITECTURES[architecture]
    counter = iter(range(1000))

    def init() -> keras.initializers.Initializer:
        return keras.initializers.GlorotUniform(seed=seed * 1000 + next(counter))

    inputs = keras.Input((INPUT_SIZE, INPUT_SIZE, 1), name="image")
    x = inputs
    for index, filters in enumerate(spec.convolutions, start=1):
        x = keras.layers.Conv2D(filters, 3, padding="same", kernel_initializer=init(), name=f"conv{index}")(x)
        if spec.batch_norm:
            # Momentum 0.9: the moving statistics must settle within a few short epochs (the default 0.99 lags).
            x = keras.layers.BatchNormalization(momentum=0.9, name=f"bn{index}")(x)
        x = keras.layers.ReLU(name=f"relu{index}")(x)
        if index % 2 == 0 or index == len(spec.convolutions):
            x = keras.layers.MaxPooling2D(name=f"pool{index}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(spec.dense, activation="relu", kernel_initializer=init(), name="dense")(x)
    logits = keras.layers.Dense(len(CLASS_NAMES), kernel_initializer=init(), name="logits")(x)
    outputs = keras.layers.Activation("softmax", name="probabilities")(logits)
    return keras.Model(inputs, outputs, name=f"fashion_{architecture}")


@dataclass(frozen=True)
class Frame:
    """The probe images' maps after one epoch."""

    epoch: int
    gradcam: np.ndarray
    """(probes, 28, 28)."""
    saliency: np.ndarray
    predicted: tuple[int, ...]


@dataclass(frozen=True)
class EpochRecord:
    epoch: int
    train_loss: float
    train_accuracy: float
    test_loss: float
    test_accuracy: float
    seconds: float
    weight_histograms: dict[str, tuple[np.ndarray, np.ndarray]]
    """Per layer with a kernel: (counts, bin edges) of its kernel's values at the end of the epoch."""
    gradient_norms: dict[str, float]
    """Per layer with a kernel: the mean over the epoch's batches of the loss gradient's norm at its kernel."""
    dead_fractions: dict[str, float]
    """Per ReLU (and the dense layer): the fraction of channels never above zero on any held-out image."""


@dataclass
class TrainingRun:
    """A run as far as it has got: read by the page while :func:`train` appends to it."""

    config: TrainingConfig
    probe_images: np.ndarray
    probe_labels: np.ndarray
    batch_losses: list[float] = field(default_factory=list)
    batch_accuracies: list[float] = field(default_factory=list)
    batches_per_epoch: int = 0
    epochs: list[EpochRecord] = field(default_factory=list)
    frames: list[Frame] = field(default_factory=list)
    checkpoints: list[list[np.ndarray]] = field(default_factory=list)
    """The weights after each epoch (a small CNN's are a few hundred kilobytes each)."""
    stopped: bool = False
    seconds: float = 0.0
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    """Names this run's checkpoints apart from another run's."""

    @property
    def total_batches(self) -> int:
        return self.batches_per_epoch * self.config.epochs


def _scaled(images: np.ndarray) -> np.ndarray:
    return (images.astype(np.float32) / 255.0)[..., None]  # the bundled Fashion-MNIST model's preprocessing


def _probe_indices(labels: np.ndarray, count: int) -> np.ndarray:
    return np.array([int(np.flatnonzero(labels == label)[0]) for label in range(count)])


def checkpoint_model(run: TrainingRun, epoch: int) -> keras.Model:
    """A new model with the weights the run had after ``epoch`` (1-based): safe to explain while it trains on."""
    model = build_model(run.config.architecture, run.config.seed)
    model.set_weights(run.checkpoints[epoch - 1])
    return model


def _kernel_layers(model: keras.Model) -> list[keras.layers.Layer]:
    return [layer for layer in model.layers if getattr(layer, "kernel", None) is not None]


def _dead_fractions(model: keras.Model, images: np.ndarray) -> dict[str, float]:
    watched = [layer for layer in model.layers if isinstance(layer, keras.layers.ReLU) or layer.name == "dense"]
    probe = keras.Model(model.input, [layer.output for layer in watched])
    ever_active = [None] * len(watched)
    for start in range(0, len(images), 200):
        outputs = probe(images[start : start + 200], training=False)
        for index, output in enumerate(outputs):
            values = np.asarray(output)
            active = (values.reshape(-1, values.shape[-1]) > 0).any(axis=0)
            ever_active[index] = active if ever_active[index] is None else ever_active[index] | active
    return {layer.name: float(1.0 - active.mean()) for layer, active in zip(watched, ever_active, strict=True)}


def _frame(model: keras.Model, epoch: int, images: np.ndarray, labels: np.ndarray, layer: str) -> Frame:
    gradcams, saliencies, predicted = [], [], []
    for image, label in zip(images, labels, strict=True):
        by_method = {
            e.method: e
            for e in explainers.explain_many(model, image, ["gradcam", "saliency"], target=int(label), layer=layer)
        }
        gradcams.append(by_method["gradcam"].attribution)
        saliencies.append(by_method["saliency"].attribution)
    outputs = explainers.predict(model, images)
    predicted = tuple(int(i) for i in outputs.argmax(axis=1))
    return Frame(epoch, np.stack(gradcams), np.stack(saliencies), predicted)


def train(
    config: TrainingConfig,
    data: dict[str, np.ndarray],
    on_batch: Callable[[TrainingRun], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    run: TrainingRun | None = None,
) -> TrainingRun:
    """Train a fresh model of ``config.architecture`` on ``data`` (``models.fashion_mnist.load_subset()``),
    recording into ``run`` (made here if not given) after every batch and epoch; ``should_stop()`` ends it after
    the current batch (the epochs finished so far stay, marked ``stopped``)."""
    started = time.perf_counter()
    count = config.train_images or len(data["train_images"])
    train_images, train_labels = _scaled(data["train_images"][:count]), data["train_labels"][:count].astype(np.int32)
    test_images, test_labels = _scaled(data["test_images"]), data["test_labels"].astype(np.int32)
    probes = _probe_indices(test_labels, config.probes)
    if run is None:
        run = TrainingRun(config, test_images[probes], test_labels[probes])
    run.batches_per_epoch = -(-count // config.batch_size)

    model = build_model(config.architecture, config.seed)
    logits_model = keras.Model(model.input, model.get_layer("logits").output)  # the same layers, before softmax
    kernels = _kernel_layers(model)
    kernel_variables = [layer.kernel for layer in kernels]
    optimizer = keras.optimizers.Adam(config.learning_rate)
    loss_function = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    cam_layer = next(layer.name for layer in reversed(model.layers) if len(layer.output.shape) == 4)

    @tf.function(autograph=False, reduce_retracing=True)
    def train_step(images, labels):
        with tf.GradientTape() as tape:
            logits = logits_model(images, training=True)
            loss = loss_function(labels, logits)
        variables = model.trainable_variables
        gradients = tape.gradient(loss, variables)
        optimizer.apply_gradients(zip(gradients, variables, strict=True))
        by_variable = {id(v): g for v, g in zip(variables, gradients, strict=True)}
        norms = tf.stack([tf.norm(by_variable[id(kernel)]) for kernel in kernel_variables])
        correct = tf.cast(tf.equal(tf.argmax(logits, axis=1, output_type=tf.int32), labels), tf.float32)
        return loss, tf.reduce_mean(correct), norms

    order_rng = np.random.default_rng(config.seed)
    for epoch in range(1, config.epochs + 1):
        epoch_started = time.perf_counter()
        order = order_rng.permutation(count)
        losses, accuracies, norms = [], [], []
        for start in range(0, count, config.batch_size):
            batch = order[start : start + config.batch_size]
            loss, accuracy, gradient_norms = train_step(train_images[batch], train_labels[batch])
            losses.append(float(loss))
            accuracies.append(float(accuracy))
            norms.append(gradient_norms.numpy())
            run.batch_losses.append(losses[-1])
            run.batch_accuracies.append(accuracies[-1])
            if on_batch is not None:
                on_batch(run)
            if should_stop is not None and should_stop():
                run.stopped = True
                break
        if run.stopped:
            break
        test_logits = explainers.predict(logits_model, test_images)
        test_loss = float(loss_function(test_labels, test_logits))
        test_accuracy = float((test_logits.argmax(axis=1) == test_labels).mean())
        run.checkpoints.append([np.array(weights) for weights in model.get_weights()])
        run.frames.append(_frame(model, epoch, run.probe_images, run.probe_labels, cam_layer))
        run.epochs.append(
            EpochRecord(
                epoch=epoch,
                train_loss=float(np.mean(losses)),
                train_accuracy=float(np.mean(accuracies)),
                test_loss=test_loss,
                test_accuracy=test_accuracy,
                seconds=time.perf_counter() - epoch_started,
                weight_histograms={
                    layer.name: np.histogram(np.asarray(layer.kernel), bins=HISTOGRAM_BINS) for layer in kernels
                },
                gradient_norms={layer.name: float(v) for layer, v in zip(kernels, np.mean(norms, axis=0), strict=True)},
                dead_fractions=_dead_fractions(model, test_images),
            )
        )
        if on_batch is not None:
            on_batch(run)
    run.seconds = time.perf_counter() - started
    return run
