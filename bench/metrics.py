"""What the trust metrics cost, as a ratio to one explain call of the same map, in one process.

    .venv/bin/python bench/metrics.py [--samples coffee,chelsea] [--methods saliency,smoothgrad,gradcam,...]

On the bundled EfficientNet-Lite0 (224x224) it prints, per sample and method: the explain call's seconds
and passes, the split-half reliability (stochastic methods) and the sample count that reached it, the
deletion+insertion curves' seconds (129 forward passes) and the randomisation check's seconds (5 stages),
each also as a ratio to the explain call; then the per-pass cost of a forward pass for reference. For
SmoothGrad it also prints the reliability of the paper's signed mean (``statistic=mean_gradient``) at
25, 100 and 200 samples, beside the default's.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

import explainers
import imaging
import metrics
import models


def timed(function, *args, **kwargs):
    """``function(*args, **kwargs)`` and the seconds it took."""
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - started


def bench_sample(model, source, name: str, methods: list[str]) -> None:
    black = source.black_image()
    image = imaging.resize_for_model(imaging.load_sample(name).pixels, source.input_size)
    inputs = source.preprocess(image)
    target = int(np.argmax(explainers.predict(model, inputs[None])[0]))
    metrics.curves(model, inputs, np.zeros(inputs.shape[:2]), target, black)  # first-call costs out of the way
    _, forward = timed(explainers.predict, model, np.repeat(inputs[None], 129, axis=0))
    print(f"\n{name}: target {target}; 129 forward passes alone {forward:.2f} s ({forward / 129 * 1000:.1f} ms each)")
    print(
        f"{'method':22} {'explain s':>9} {'passes':>6} {'reliab.':>7} {'del+ins s':>9} {'/explain':>8} "
        f"{'random. s':>9} {'/explain':>8} {'verdict':>8}"
    )
    cam_layer = models.default_cam_layer(model)
    for method in methods:
        layer = cam_layer if explainers.METHODS[method].needs_conv_layer else None
        settings = {"target": target, "layer": layer, "baseline": black}
        explainers.explain(model, inputs, method, **settings)  # traced once
        explanation, seconds = timed(explainers.explain, model, inputs, method, **settings)
        _, faithful = timed(metrics.curves, model, inputs, explanation.attribution, target, black)
        check, randomized = timed(metrics.randomization_check, model, inputs, explanation, baseline=black)
        reliability = "-" if explanation.reliability is None else f"{explanation.reliability:.3f}"
        print(
            f"{method:22} {seconds:9.2f} {explanation.passes:6d} {reliability:>7} {faithful:9.2f} "
            f"{faithful / seconds:8.1f} {randomized:9.2f} {randomized / seconds:8.1f} "
            f"{ {True: 'pass', False: 'FAIL', None: 'n/a'}[check.passed]:>8}",
            flush=True,
        )
    if "smoothgrad" in methods:
        for statistic in ("mean_saliency", "mean_gradient"):
            values = [
                explainers.explain(
                    model, inputs, "smoothgrad", target=target, samples=n, reliability_target=None, statistic=statistic
                ).reliability
                for n in (25, 100, 200)
            ]
            print(
                f"SmoothGrad {statistic}: split-half reliability at 25/100/200 samples "
                + " / ".join(f"{v:.2f}" for v in values)
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", default="coffee,chelsea")
    parser.add_argument("--methods", default="saliency,smoothgrad,gradcam,integrated_gradients,guided_backprop")
    args = parser.parse_args()
    source = models.get_source("efficientnet_lite0")
    model = source.load()
    explainers.warm_up(model)
    print(f"TensorFlow sees a GPU: {explainers.uses_gpu()}; {os.cpu_count()} CPU cores; EfficientNet-Lite0 224x224")
    for name in args.samples.split(","):
        bench_sample(model, source, name, args.methods.split(","))


if __name__ == "__main__":
    main()
