"""Feature visualisation by activation maximisation: the input that most excites a class or a channel.

Erhan, Bengio, Courville & Vincent, "Visualizing Higher-Layer Features of a Deep Network", 2009 (gradient ascent
on the input); Olah, Mordvintsev & Schubert, "Feature Visualization", Distill 2017,
https://distill.pub/2017/feature-visualization/ (what makes the result look like something rather than
adversarial noise). As there, and in their Lucid library:

- the image is parametrised by its Fourier spectrum, scaled down at high frequencies (1 / frequency), and its
  colours decorrelated with ImageNet's colour covariance, then squashed into 0..1 by a sigmoid: gradient steps
  then move whole patterns and colours rather than single pixels;
- every step scores several randomly transformed copies (padding, jitter, small scaling and rotation), so
  only patterns the model recognises under such changes survive;
- optional total-variation and L2 penalties on the image.

The objective is a class's logit (before a final softmax, as the attribution methods explain) or one channel's
mean value in a layer, taken before the layer's activation (a ReLU gives no gradient to a silent channel). The
optimisation step (transforms, the model, the gradient, Adam) is one compiled ``tf.function`` per model, layer
and image size, with no state of its own: all state goes in and out as tensors, so runs in several sessions
share the trace and do not interfere. The random transforms come from a
counter-based generator keyed by the seed, so a run is reproducible.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import keras
import numpy as np
import tensorflow as tf

from explainers._graph import graph_for

# Lucid's square root of ImageNet's colour covariance (its ``color_correlation_svd_sqrt``), columns normalised.
_COLOUR_CORRELATION = np.array([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]], np.float32)
_COLOUR_CORRELATION /= np.max(np.linalg.norm(_COLOUR_CORRELATION, axis=0))
_ADAM_BETAS = (0.9, 0.999)
_ADAM_EPSILON = 1e-8


@dataclass(frozen=True)
class Settings:
    """How an image is optimised; the defaults reach top-1 on EfficientNet-Lite0's classes in about 15 s on two
    CPU cores (see the README's gallery)."""

    steps: int = 128
    learning_rate: float = 0.05
    seed: int = 0
    copies: int = 4
    """Transformed copies scored at each step."""
    jitter: float = 0.05
    """Largest shift, as a fraction of the image size."""
    scale: float = 0.1
    """Copies are scaled by 1 +- this."""
    rotation_degrees: float = 10.0
    decay_power: float = 1.0
    """How fast the spectrum's scale falls with frequency (1: as natural images)."""
    decorrelate: bool = True
    """Optimise colours in ImageNet's decorrelated colour space (RGB models)."""
    total_variation: float = 0.0
    """Weight of the image's mean absolute difference between neighbouring pixels."""
    l2: float = 0.0
    """Weight of the image's mean squared distance from mid-grey."""

    def __post_init__(self) -> None:
        if self.steps < 1 or self.copies < 1 or self.learning_rate <= 0:
            raise ValueError("steps, copies and the learning rate must be positive")


@dataclass(frozen=True)
class Visualization:
    """The optimised input and how the objective rose."""

    image: np.ndarray
    """uint8, (H, W, 3) for an RGB model or (H, W) for a grayscale one, at the model's input size."""
    objective_start: float
    objective_end: float
    """The objective on the final image, untransformed (what the saved picture scores)."""
    history: tuple[float, ...]
    """The objective at each step (the mean over that step's transformed copies)."""
    steps: int
    seconds: float
    target: int
    layer: str | None
    settings: Settings
    stopped: bool = False
    """True when ``should_stop`` ended the run early."""

    def summary(self) -> dict:
        """What ``cli.py visualize`` writes to visualization.json."""
        return {
            "objective": "class logit" if self.layer is None else "channel mean before the layer's activation",
            "target": self.target if self.layer is None else None,
            "layer": self.layer,
            "channel": self.target if self.layer is not None else None,
            "objective_start": self.objective_start,
            "objective_end": self.objective_end,
            "steps": self.steps,
            "stopped_early": self.stopped,
            "seconds": round(self.seconds, 3),
            "settings": asdict(self.settings),
        }


def affine_preprocessing(
    preprocess: Callable[[np.ndarray], np.ndarray], channels: int
) -> tuple[np.ndarray, np.ndarray]:
    """``preprocess`` (RGB pixels 0..255 -> model input) as ``inputs = pixels @ matrix + offset``, measured on
    basis colours and checked on random pixels: every preprocessing preset is affine per pixel (scaling, mean
    subtraction, BGR order, conversion to gray)."""
    offset = np.asarray(preprocess(np.zeros((1, 1, 3), np.float32)), np.float64).reshape(channels)
    matrix = (
        np.stack(
            [
                np.asarray(preprocess(np.eye(3, dtype=np.float32)[c][None, None] * 255.0), np.float64).reshape(channels)
                - offset
                for c in range(3)
            ]
        )
        / 255.0
    )
    pixels = np.random.default_rng(0).uniform(0, 255, (4, 4, 3)).astype(np.float32)
    if not np.allclose(np.asarray(preprocess(pixels), np.float64), pixels @ matrix + offset, rtol=1e-4, atol=1e-3):
        raise ValueError("the model's preprocessing is not affine per pixel, so it cannot be differentiated here")
    return matrix.astype(np.float32), offset.astype(np.float32)


def _spectrum_scale(height: int, width: int, decay_power: float) -> np.ndarray:
    frequencies = np.sqrt(np.fft.fftfreq(height)[:, None] ** 2 + np.fft.rfftfreq(width)[None, :] ** 2)
    scale = 1.0 / np.maximum(frequencies, 1.0 / max(height, width)) ** decay_power
    return (scale * math.sqrt(height * width)).astype(np.float32)


def _image_from_spectrum(spectrum: tf.Tensor, scale: tf.Tensor, size: tuple[int, int], decorrelate: bool) -> tf.Tensor:
    """(2, C, h, w//2+1) real and imaginary parts -> an (h, w, C) image in 0..1."""
    complex_spectrum = tf.complex(spectrum[0] * scale, spectrum[1] * scale)
    image = tf.signal.irfft2d(complex_spectrum, fft_length=size)  # (C, h, w)
    image = tf.transpose(image, (1, 2, 0)) / 4.0
    if decorrelate:
        image = tf.tensordot(image, tf.constant(_COLOUR_CORRELATION.T), axes=1)
    return tf.sigmoid(image)


def _transformed(image: tf.Tensor, settings: Settings, seed: tf.Tensor) -> tf.Tensor:
    """``settings.copies`` copies of ``image`` (h, w, C), each shifted, scaled and rotated at random about the
    centre, filled with mid-grey where the copy leaves the image."""
    height, width = image.shape[0], image.shape[1]
    copies = settings.copies
    uniform = tf.random.stateless_uniform((copies, 4), seed, minval=-1.0, maxval=1.0)
    angle = uniform[:, 0] * settings.rotation_degrees * math.pi / 180.0
    zoom = 1.0 + uniform[:, 1] * settings.scale
    shift_x = uniform[:, 2] * settings.jitter * width
    shift_y = uniform[:, 3] * settings.jitter * height
    cos, sin = tf.cos(angle) / zoom, tf.sin(angle) / zoom
    centre_x, centre_y = (width - 1) / 2.0, (height - 1) / 2.0
    # Output pixel (x, y) reads input (a0 x + a1 y + a2, b0 x + b1 y + b2): the inverse of rotate-scale-shift.
    a2 = centre_x - cos * (centre_x + shift_x) - sin * (centre_y + shift_y)
    b2 = centre_y + sin * (centre_x + shift_x) - cos * (centre_y + shift_y)
    zeros = tf.zeros_like(angle)
    transforms = tf.stack([cos, sin, a2, -sin, cos, b2, zeros, zeros], axis=1)
    batch = tf.repeat(image[None], copies, axis=0)
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=batch,
        transforms=transforms,
        output_shape=tf.constant([height, width]),
        fill_value=0.5,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )


def _penalties(image: tf.Tensor, settings: Settings) -> tf.Tensor:
    loss = tf.constant(0.0)
    if settings.total_variation:
        variation = tf.reduce_mean(tf.abs(image[1:] - image[:-1])) + tf.reduce_mean(
            tf.abs(image[:, 1:] - image[:, :-1])
        )
        loss += settings.total_variation * variation
    if settings.l2:
        loss += settings.l2 * tf.reduce_mean(tf.square(image - 0.5))
    return loss


def _step_function(model: keras.Model, layer: str | None, size: tuple[int, int], channels: int, settings: Settings):
    """The compiled optimisation step for this model, layer, image size and the settings that shape the graph."""
    graph = graph_for(model)
    image_channels = 3 if channels == 3 else 1
    shape = (2, image_channels, size[0], size[1] // 2 + 1)
    graph_settings = Settings(
        copies=settings.copies,
        jitter=settings.jitter,
        scale=settings.scale,
        rotation_degrees=settings.rotation_degrees,
        decorrelate=settings.decorrelate,
        total_variation=settings.total_variation,
        l2=settings.l2,
    )
    decorrelate = settings.decorrelate and image_channels == 3
    key = ("feature_visualization", layer, size, channels, graph_settings)

    def build():
        spec = tf.TensorSpec(shape, tf.float32)
        scalar = tf.TensorSpec((), tf.float32)
        signature = [spec, spec, spec, tf.TensorSpec((), tf.int32), tf.TensorSpec((), tf.int32), scalar]
        signature += [tf.TensorSpec(shape[2:], tf.float32), tf.TensorSpec((3, channels), tf.float32)]
        signature += [tf.TensorSpec((channels,), tf.float32), tf.TensorSpec((2,), tf.int32)]

        @tf.function(input_signature=signature, autograph=False)
        def step(spectrum, first_moment, second_moment, count, index, learning_rate, scale, matrix, offset, seed):
            with tf.GradientTape() as tape:
                tape.watch(spectrum)
                image = _image_from_spectrum(spectrum, scale, size, decorrelate)
                rgb = image if image_channels == 3 else tf.repeat(image, 3, axis=-1)
                batch = _transformed(rgb, graph_settings, seed)
                inputs = tf.tensordot(batch * 255.0, matrix, axes=1) + offset
                objective = tf.reduce_mean(graph.traced_objective(inputs, index, layer))
                loss = _penalties(image, graph_settings) - objective
            gradient = tape.gradient(loss, spectrum)
            count = tf.cast(count, tf.float32)
            first_moment = _ADAM_BETAS[0] * first_moment + (1 - _ADAM_BETAS[0]) * gradient
            second_moment = _ADAM_BETAS[1] * second_moment + (1 - _ADAM_BETAS[1]) * tf.square(gradient)
            corrected_first = first_moment / (1 - _ADAM_BETAS[0] ** count)
            corrected_second = second_moment / (1 - _ADAM_BETAS[1] ** count)
            spectrum = spectrum - learning_rate * corrected_first / (tf.sqrt(corrected_second) + _ADAM_EPSILON)
            return spectrum, first_moment, second_moment, objective

        return step

    return graph.compiled(key, build), shape, decorrelate


def visualize(
    model: keras.Model,
    preprocess: Callable[[np.ndarray], np.ndarray],
    target: int,
    *,
    layer: str | None = None,
    settings: Settings | None = None,
    progress: Callable[[int, int, float], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Visualization:
    """Optimise an input of the model's size that maximises class ``target``'s logit, or, with ``layer``, the
    mean of that layer's channel ``target`` before the layer's activation.

    ``preprocess`` maps RGB pixels 0..255 to the model's input (the model source's); ``progress(step, steps,
    objective)`` is called after every step, and ``should_stop()`` can end the run early (the image so far is
    returned, marked ``stopped``)."""
    settings = settings or Settings()
    height, width, channels = (int(d) for d in model.inputs[0].shape[1:])
    graph = graph_for(model)
    if layer is None and not 0 <= target < graph.output_size:
        raise ValueError(f"class {target} is outside the model's {graph.output_size} outputs")
    matrix, offset = affine_preprocessing(preprocess, channels)
    step, shape, decorrelate = _step_function(model, layer, (height, width), channels, settings)
    scale = tf.constant(_spectrum_scale(height, width, settings.decay_power))
    spectrum = tf.constant(np.random.default_rng(settings.seed).normal(0.0, 0.01, shape).astype(np.float32))
    first_moment = second_moment = tf.zeros(shape, tf.float32)
    arguments = (tf.constant(target, tf.int32), tf.constant(settings.learning_rate, tf.float32), scale)
    arguments += (tf.constant(matrix), tf.constant(offset))

    def untransformed_objective(image: np.ndarray) -> float:
        rgb = image if image.shape[-1] == 3 else np.repeat(image, 3, axis=-1)
        inputs = (np.rint(rgb * 255.0) @ matrix + offset).astype(np.float32)  # as the 8-bit picture is seen
        return float(graph.objective(inputs[None], target, layer)[0])

    started = time.perf_counter()
    first_image = _image_from_spectrum(spectrum, scale, (height, width), decorrelate).numpy()
    history, stopped = [], False
    for count in range(1, settings.steps + 1):
        seed = tf.constant([settings.seed, count], tf.int32)
        spectrum, first_moment, second_moment, objective = step(
            spectrum, first_moment, second_moment, tf.constant(count), *arguments, seed
        )
        history.append(float(objective))
        if progress is not None:
            progress(count, settings.steps, history[-1])
        if should_stop is not None and should_stop():
            stopped = True
            break
    final = _image_from_spectrum(spectrum, scale, (height, width), decorrelate).numpy()
    seconds = time.perf_counter() - started
    picture = np.clip(np.rint(final * 255.0), 0, 255).astype(np.uint8)
    return Visualization(
        image=picture if picture.shape[-1] == 3 else picture[..., 0],
        objective_start=untransformed_objective(first_image),
        objective_end=untransformed_objective(final),
        history=tuple(history),
        steps=len(history),
        seconds=seconds,
        target=int(target),
        layer=layer,
        settings=settings,
        stopped=stopped,
    )


def predict_picture(
    model: keras.Model, preprocess: Callable[[np.ndarray], np.ndarray], picture: np.ndarray
) -> np.ndarray:
    """The model's outputs for a saved picture (uint8 RGB (H, W, 3) or gray (H, W)), as it would see the file."""
    from explainers import predict

    rgb = picture.astype(np.float32)
    rgb = rgb if rgb.ndim == 3 else np.repeat(rgb[..., None], 3, axis=-1)
    return predict(model, preprocess(rgb)[None])[0]
