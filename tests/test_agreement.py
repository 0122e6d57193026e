"""Agreement with an independent implementation: tf-keras-vis 0.8.7 on a functional model.

Both maps get the same post-processing: CAMs are taken at the layer's resolution from tf-keras-vis
(``expand_cam=False``) and upsampled with our bilinear resize (its scipy zoom aligns corners, ours
pixel centres), then both are min-max normalised and compared by Pearson correlation: r >= 0.99.
The model ends in logits: tf-keras-vis's Score-CAM applies its own softmax to the model output.
"""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest

import explainers
from explainers._base import upsample

pytest.importorskip("tf_keras_vis", reason="tf-keras-vis is installed by requirements-dev.txt")
from tf_keras_vis.gradcam import Gradcam
from tf_keras_vis.gradcam_plus_plus import GradcamPlusPlus
from tf_keras_vis.saliency import Saliency
from tf_keras_vis.scorecam import Scorecam
from tf_keras_vis.utils.model_modifiers import ReplaceToLinear
from tf_keras_vis.utils.scores import CategoricalScore

# (layer, target) pairs where every map is non-trivial: the last conv layer, whose gradient is
# uniform in space (it feeds global pooling), and an earlier one, whose gradient is not.
CASES = [("conv3", 1), ("conv2", 0)]


@pytest.fixture(scope="module")
def model_and_image():
    keras.utils.set_random_seed(11)
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv1")(inputs)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv2")(x)
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv3")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(4, name="logits")(x)
    model = keras.Model(inputs, outputs)
    rows, cols = np.mgrid[0:32, 0:32] / 32.0
    image = np.stack([np.sin(6 * rows), np.cos(5 * cols), rows * cols], axis=-1).astype(np.float32)
    return model, image


def normalised(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, np.float64).reshape(-1)
    return (values - values.min()) / (values.max() - values.min() + 1e-12)


def pearson(ours: np.ndarray, theirs: np.ndarray) -> float:
    return float(np.corrcoef(normalised(ours), normalised(theirs))[0, 1])


def theirs(model, image, method: str, layer: str, target: int) -> np.ndarray:
    score, seed = CategoricalScore([target]), image[None]
    cam_options = {"penultimate_layer": layer, "seek_penultimate_conv_layer": False, "expand_cam": False}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if method == "saliency":
            return Saliency(model, model_modifier=ReplaceToLinear(), clone=True)(score, seed)[0]
        if method == "gradcam":
            cam = Gradcam(model, model_modifier=ReplaceToLinear(), clone=True)(score, seed, **cam_options)
        elif method == "gradcam_plus_plus":
            cam = GradcamPlusPlus(model, model_modifier=ReplaceToLinear(), clone=True)(score, seed, **cam_options)
        else:
            cam = Scorecam(model)(score, seed, **cam_options)
    return upsample(np.asarray(cam[0], np.float32), image.shape[:2])


@pytest.mark.parametrize(("layer", "target"), CASES)
@pytest.mark.parametrize("method", ["saliency", "gradcam", "gradcam_plus_plus", "scorecam"])
def test_maps_agree_with_tf_keras_vis(model_and_image, method, layer, target):
    model, image = model_and_image
    options = {"max_channels": None} if method == "scorecam" else {}
    cam_layer = layer if explainers.METHODS[method].needs_conv_layer else None
    ours = explainers.explain(model, image, method, target=target, layer=cam_layer, **options).attribution
    reference = theirs(model, image, method, layer, target)
    assert ours.shape == reference.shape
    assert np.ptp(ours) > 0, "a constant map would agree with nothing"
    assert pearson(ours, reference) >= 0.99
