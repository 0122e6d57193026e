"""Where the engine stands: each method against its floor and against tf-keras-vis, in one process.

    .venv/bin/python bench/engine.py [--models mobilenet_v2,resnet50,efficientnet_lite0]
                                     [--methods saliency,smoothgrad,...] [--repeats 3]

For each model (224x224; MobileNetV2 and ResNet50 with random weights, the bundled
EfficientNet-Lite0 with real ones) and method it prints:

- ours: median seconds over ``--repeats`` warm calls;
- floor: the same number of forward+backward passes through the same compiled gradient
  function, in the same memory-capped batches, doing nothing else (forward passes only for the
  perturbation methods and Score-CAM); ours / floor is our overhead;
- tf-keras-vis: its median for the same method and settings, where it has one, and ours / theirs;
- peak RSS: the process's largest resident memory while our method ran.

Fixed settings so that both libraries do the same work: SmoothGrad 25 samples at 15 % noise (a fixed
count, not sampled until reproducible, and tf-keras-vis's signed mean), Integrated Gradients 50 uniform
steps, Score-CAM capped at 256 channels. Not a test: nothing asserts. ``bench/metrics.py`` measures the
default, reproducibility-driven sample counts.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import keras
import numpy as np

import explainers
import imaging
import models
from explainers._graph import graph_for

SETTINGS = {
    "smoothgrad": {"samples": 25, "noise_level": 0.15, "reliability_target": None, "statistic": "mean_gradient"},
    "smoothgrad_squared": {"samples": 25, "noise_level": 0.15, "reliability_target": None},
    "vargrad": {"samples": 25, "noise_level": 0.15, "reliability_target": None},
    "integrated_gradients": {"steps": 50, "tolerance": None},
    "scorecam": {"max_channels": 256},
}
PASSES_WITH_GRADIENTS = {
    "saliency": 1,
    "gradient_input": 1,
    "guided_backprop": 1,
    "smoothgrad": 25,
    "smoothgrad_squared": 25,
    "vargrad": 25,
    "integrated_gradients": 51,
    "gradcam": 1,
    "gradcam_plus_plus": 1,
    "layercam": 1,
    "guided_gradcam": 2,
    "deeplift": 2,  # the image and its baseline, one batch
    "lrp": 1,
}
FORWARD_ONLY = {"occlusion", "scorecam", "rise", "lime", "kernel_shap"}
"""Methods whose floor is their number of forward passes (read from the explanation), batched, nothing else."""


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure(function: Callable[[], object], repeats: int) -> tuple[float, int]:
    """Median seconds of warm calls, and the peak RSS seen while they ran."""
    function()  # warm: traces and allocator growth are not what we measure
    peak, running = rss_bytes(), True

    def sample():
        nonlocal peak
        while running:
            peak = max(peak, rss_bytes())
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    running = False
    sampler.join()
    return statistics.median(times), peak


def load(name: str) -> tuple[keras.Model, np.ndarray, np.ndarray]:
    """A model, one input in its input space, and its black baseline."""
    photo = imaging.resize_for_model(imaging.load_sample("chelsea").pixels, (224, 224))
    if name == "efficientnet_lite0":
        source = models.get_source(name)
        return source.load(), source.preprocess(photo), source.black_image()
    application = {"mobilenet_v2": keras.applications.MobileNetV2, "resnet50": keras.applications.ResNet50}[name]
    keras.utils.set_random_seed(0)
    model = application(weights=None, input_shape=(224, 224, 3))
    scale = (lambda x: x / 127.5 - 1.0) if name == "mobilenet_v2" else (lambda x: x[..., ::-1] - [103.9, 116.8, 123.7])
    return model, scale(photo).astype(np.float32), scale(np.zeros_like(photo)).astype(np.float32)


def tf_keras_vis_runner(model, inputs, target: int, layer: str, method: str) -> Callable[[], object] | None:
    """The tf-keras-vis call doing the same work, or None where it has no such method."""
    from tf_keras_vis.gradcam import Gradcam
    from tf_keras_vis.gradcam_plus_plus import GradcamPlusPlus
    from tf_keras_vis.layercam import Layercam
    from tf_keras_vis.saliency import Saliency
    from tf_keras_vis.scorecam import Scorecam
    from tf_keras_vis.utils.model_modifiers import ReplaceToLinear
    from tf_keras_vis.utils.scores import CategoricalScore

    score, seed = CategoricalScore([target]), inputs[None]
    cam_options = {"penultimate_layer": layer, "seek_penultimate_conv_layer": False}
    if method in ("saliency", "smoothgrad"):
        saliency = Saliency(model, model_modifier=ReplaceToLinear(), clone=True)
        samples = {"smoothgrad": {"smooth_samples": 25, "smooth_noise": 0.15}}.get(method, {})
        return lambda: saliency(score, seed, **samples)
    cams = {"gradcam": Gradcam, "gradcam_plus_plus": GradcamPlusPlus, "layercam": Layercam}
    if method in cams:
        cam = cams[method](model, model_modifier=ReplaceToLinear(), clone=True)
        return lambda: cam(score, seed, **cam_options)
    if method == "scorecam":
        scorecam = Scorecam(model)
        return lambda: scorecam(score, seed, max_N=256, **cam_options)
    return None


def bench_model(name: str, methods: list[str], repeats: int) -> None:
    model, inputs, baseline = load(name)
    graph = graph_for(model)
    target = int(np.argmax(explainers.predict(model, inputs[None])[0]))
    layer = models.default_cam_layer(model)
    print(
        f"\n{name}: target {target}, CAM layer {layer}, batch size {graph.batch_size(10_000)} under "
        f"{explainers.DEFAULT_MEMORY_BUDGET_BYTES >> 20} MiB"
    )
    print(f"{'method':22} {'ours s':>8} {'floor s':>8} {'/floor':>7} {'tkv s':>8} {'/tkv':>6} {'peak RSS':>9}")
    totals = {"ours": 0.0, "theirs": 0.0}
    for method in methods:
        options = SETTINGS.get(method, {})
        ours, peak = measure(
            lambda method=method, options=options: explainers.explain(
                model,
                inputs,
                method,
                target=target,
                layer=layer if explainers.METHODS[method].needs_conv_layer else None,
                baseline=baseline,
                **options,
            ),
            repeats,
        )
        floor_text = ratio_text = "-"
        passes = PASSES_WITH_GRADIENTS.get(method)
        if passes:
            batch = np.repeat(inputs[None], passes, axis=0)
            floor, _ = measure(lambda batch=batch: list(graph.batched(batch, target, input_gradients=True)), repeats)
            floor_text, ratio_text = f"{floor:8.3f}", f"{ours / floor:7.2f}"
        elif method in FORWARD_ONLY:
            passes = explainers.explain(
                model, inputs, method, target=target, layer=layer, baseline=baseline, **options
            ).passes
            batch = np.repeat(inputs[None], passes, axis=0)
            floor, _ = measure(lambda batch=batch: graph.predict(batch), repeats)
            floor_text, ratio_text = f"{floor:8.3f}", f"{ours / floor:7.2f}"
        theirs_text = versus_text = "-"
        runner = tf_keras_vis_runner(model, inputs, target, layer, method)
        if runner is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                theirs, _ = measure(runner, repeats)
            theirs_text, versus_text = f"{theirs:8.3f}", f"{ours / theirs:6.2f}"
            if method in ("saliency", "smoothgrad", "gradcam"):
                totals["ours"] += ours
                totals["theirs"] += theirs
        print(
            f"{method:22} {ours:8.3f} {floor_text:>8} {ratio_text:>7} {theirs_text:>8} {versus_text:>6} "
            f"{peak / 2**30:8.2f}G",
            flush=True,
        )
    if totals["theirs"]:
        print(
            f"saliency + SmoothGrad + Grad-CAM: ours {totals['ours']:.3f} s, tf-keras-vis {totals['theirs']:.3f} s, "
            f"{totals['theirs'] / totals['ours']:.1f}x faster (tf-keras-vis has no Integrated Gradients)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="mobilenet_v2,resnet50,efficientnet_lite0")
    parser.add_argument("--methods", default=",".join(explainers.METHODS))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    keras.utils.disable_interactive_logging()  # tf-keras-vis's Score-CAM would print progress bars
    print(f"TensorFlow sees a GPU: {explainers.uses_gpu()}; {os.cpu_count()} CPU cores")
    for name in args.models.split(","):
        bench_model(name, args.methods.split(","), args.repeats)


if __name__ == "__main__":
    main()
