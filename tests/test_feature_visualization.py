"""Feature visualisation: the preprocessing as an affine map, reproducible runs, the quality bar on the bundled
model (its class visualisations are classified as their class from the saved 8-bit picture), and tf-keras-vis
as the reference."""

from __future__ import annotations

import io
import json

import keras
import numpy as np
import pytest
from PIL import Image

import cli
import explainers
import models
from explainers._graph import graph_for
from introspection.feature_visualization import Settings, affine_preprocessing, visualize

QUALITY_CLASSES = (1, 309, 954)  # goldfish, bee, banana


def top1_of_picture(model, source, picture: np.ndarray) -> tuple[int, float]:
    """The model's top class and its probability for a saved 8-bit picture, read back from its PNG bytes."""
    pixels = np.asarray(Image.open(io.BytesIO(_png(picture))).convert("RGB"), np.float32)
    probabilities = explainers.probabilities(model, explainers.predict(model, source.preprocess(pixels)[None])[0])
    return int(np.argmax(probabilities)), float(probabilities.max())


def _png(picture: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("preset", list(models.PRESETS))
@pytest.mark.parametrize("channels", [1, 3])
def test_every_preset_is_an_affine_map_of_the_pixels(preset, channels, rng):
    preprocess = lambda x: models.PRESETS[preset].apply(x, channels=channels)  # noqa: E731
    matrix, offset = affine_preprocessing(preprocess, channels)
    pixels = rng.uniform(0, 255, (5, 6, 3)).astype(np.float32)
    np.testing.assert_allclose(pixels @ matrix + offset, preprocess(pixels), rtol=1e-5, atol=1e-4)
    if preset == "caffe" and channels == 3:
        assert matrix[0, 2] == pytest.approx(1.0) and matrix[0, 0] == 0, "red goes to the last (BGR) channel"
    with pytest.raises(ValueError, match="not affine"):
        affine_preprocessing(lambda x: np.sqrt(x[..., :channels]), channels)


@pytest.mark.parametrize("target", QUALITY_CLASSES)
def test_the_default_class_visualisation_is_seen_as_its_class(bundled_model, bundled_source, target):
    result = visualize(bundled_model, bundled_source.preprocess, target)
    assert result.image.shape == (224, 224, 3) and result.image.dtype == np.uint8
    assert result.steps == Settings().steps and result.objective_end > result.objective_start + 10
    top, probability = top1_of_picture(bundled_model, bundled_source, result.image)
    assert top == target, (bundled_source.class_names()[top], probability)


def test_a_run_is_reproducible_from_its_seed_and_can_be_stopped(bundled_model, bundled_source):
    settings = Settings(steps=6, seed=3)
    first = visualize(bundled_model, bundled_source.preprocess, 130, settings=settings)
    again = visualize(bundled_model, bundled_source.preprocess, 130, settings=settings)
    np.testing.assert_array_equal(first.image, again.image)
    assert first.history == again.history and len(first.history) == 6
    other = visualize(bundled_model, bundled_source.preprocess, 130, settings=Settings(steps=6, seed=4))
    assert not np.array_equal(first.image, other.image)
    seen = []
    stopped = visualize(
        bundled_model,
        bundled_source.preprocess,
        130,
        settings=Settings(steps=50),
        progress=lambda step, steps, objective: seen.append((step, steps)),
        should_stop=lambda: len(seen) >= 3,
    )
    assert stopped.stopped and stopped.steps == 3 and seen == [(1, 50), (2, 50), (3, 50)]


def test_a_channel_silent_on_the_start_image_is_still_woken(rng):
    """The objective is taken before the ReLU, so a channel that is zero everywhere at first still gets a
    gradient; the reported objective is the channel's mean before the activation, on the saved picture."""
    inputs = keras.Input((16, 16, 3))
    conv = keras.layers.Conv2D(3, 3, padding="same", activation="relu", name="conv")
    outputs = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(conv(inputs)))
    model = keras.Model(inputs, outputs)
    kernel, bias = conv.get_weights()
    bias[2] = -50.0  # silent on any 0..1 image
    conv.set_weights([kernel, bias])
    preprocess = lambda x: x / 255.0  # noqa: E731
    result = visualize(model, preprocess, 2, layer="conv", settings=Settings(steps=30, learning_rate=0.2))
    assert result.objective_end > result.objective_start
    before_relu = keras.Model(inputs, keras.ops.conv(inputs, conv.kernel, padding="same") + conv.bias)
    expected = float(np.asarray(before_relu(preprocess(result.image.astype(np.float32))[None]))[0, ..., 2].mean())
    assert result.objective_end == pytest.approx(expected, rel=1e-4, abs=1e-4)


def test_a_grayscale_model_gets_a_gray_picture_it_classifies_as_the_class():
    source = models.get_source("fashion_mnist_cnn")
    model = source.load()
    result = visualize(model, source.preprocess, 7)  # Sneaker
    assert result.image.shape == (28, 28) and result.image.dtype == np.uint8
    gray = np.repeat(result.image[..., None].astype(np.float32), 3, axis=-1)
    assert int(np.argmax(explainers.predict(model, source.preprocess(gray)[None])[0])) == 7


def test_the_cli_writes_the_picture_and_its_record(tmp_path, bundled_model, bundled_source, capsys):
    assert cli.main(["visualize", "--target", "417", "--steps", "12", "--seed", "2", "--out", str(tmp_path)]) == 0
    picture = np.asarray(Image.open(tmp_path / "visualization.png"))
    assert picture.shape == (224, 224, 3) and picture.dtype == np.uint8
    record = json.loads((tmp_path / "visualization.json").read_text())
    assert record["target"] == 417 and record["target_label"] == "balloon" and record["steps"] == 12
    assert record["channel"] is None and record["target_probability"] > 0.5
    assert record["settings"]["seed"] == 2 and record["seconds"] > 0
    assert record["objective_end"] > record["objective_start"]
    seen = bundled_source.preprocess(picture.astype(np.float32))
    logit = graph_for(bundled_model).objective(seen[None], 417)[0]
    assert record["objective_end"] == pytest.approx(float(logit), rel=1e-4), "the objective of the saved picture"
    assert "balloon" in capsys.readouterr().out
    assert cli.main(["visualize", "--layer", "nowhere", "--channel", "1", "--out", str(tmp_path)]) == 1
    assert "no layer 'nowhere'" in capsys.readouterr().err
    assert cli.main(["visualize", "--layer", "head_relu6", "--channel", "1280", "--out", str(tmp_path)]) == 1
    assert "outside 0..1279" in capsys.readouterr().err
    # With a channel, --target names the class the saved picture is checked for.
    channel_run = ["visualize", "--target", "1", "--layer", "head_relu6", "--channel", "3", "--steps", "4"]
    assert cli.main([*channel_run, "--out", str(tmp_path / "channel")]) == 0
    record = json.loads((tmp_path / "channel" / "visualization.json").read_text())
    assert record["layer"] == "head_relu6" and record["channel"] == 3 and record["target"] == 1
    assert record["target_label"] == "goldfish" and 0 <= record["target_probability"] <= 1
    with pytest.raises(SystemExit):
        cli.main(["visualize", "--layer", "head_relu6", "--out", str(tmp_path)])


def test_tf_keras_vis_scores_the_same_logit_and_ends_lower_in_as_many_steps(bundled_model, bundled_source):
    """tf-keras-vis's ActivationMaximization (the design card's package) as the reference: its CategoricalScore on
    the linear-output model is our objective; from the same number of steps, ours ends at a higher logit."""
    from tf_keras_vis.activation_maximization import ActivationMaximization
    from tf_keras_vis.utils.model_modifiers import ReplaceToLinear
    from tf_keras_vis.utils.scores import CategoricalScore

    pixels = np.random.default_rng(0).uniform(0, 255, (224, 224, 3)).astype(np.float32)
    probe = bundled_source.preprocess(pixels)[None]
    maximization = ActivationMaximization(bundled_model, model_modifier=ReplaceToLinear(), clone=True)
    theirs_score = float(CategoricalScore(954)(maximization.model(probe))[0])
    assert graph_for(bundled_model).objective(probe, 954)[0] == pytest.approx(theirs_score, rel=1e-4)
    # tf-keras-vis optimises the model's input directly; held to the range real pixels map to, as ours is.
    low, high = bundled_source.black_image().min(), bundled_source.preprocess(np.full((1, 1, 3), 255.0)).max()
    theirs = np.clip(np.asarray(maximization(CategoricalScore(954), steps=24)), low, high)
    ours = visualize(bundled_model, bundled_source.preprocess, 954, settings=Settings(steps=24))
    assert ours.objective_end > graph_for(bundled_model).objective(theirs, 954)[0]


@pytest.mark.parametrize("shape", ["sequential", "functional", "nested"])
def test_every_model_shape_can_be_visualised_for_a_class_and_a_channel(shape):
    from tests.conftest import build_three_shapes

    model = build_three_shapes((24, 24, 3))[shape]
    layer = "backbone/conv2" if shape == "nested" else "conv2"
    preprocess = lambda x: x / 255.0  # noqa: E731
    for index, objective_layer in ((2, None), (5, layer)):
        result = visualize(model, preprocess, index, layer=objective_layer, settings=Settings(steps=12))
        assert result.image.shape == (24, 24, 3) and np.isfinite(result.objective_end)
        assert result.objective_end > result.objective_start, (shape, objective_layer)
