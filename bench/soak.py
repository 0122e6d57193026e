"""Soak: many explain calls over varied images and settings in one process, resident memory as it goes.

    .venv/bin/python bench/soak.py [--calls 200] [--every 20] [--warm-up 40]

Cycles through every bundled sample (photos and the 16-bit MRI slice), windows, targets (top-1 and
others), CAM layers and methods on the bundled EfficientNet-Lite0, the way a long-running server
sees them. Prints resident memory every ``--every`` calls. After warm-up (which traces each compiled
function and grows allocator pools) memory must stay flat: the lowest reading of the run's second half
may exceed the lowest of its first half by under 50 MB. A leak (retracing, kept gradient tapes) lifts
that floor call after call; the allocator's pools swing around it (±60 MB with padded batches), which a
comparison of single readings would mistake for growth. Exits 1 when the floor rises more; a
benchmark, not a timed test.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

import explainers
import imaging
import models
from bench.engine import rss_bytes
from explainers._graph import graph_for

MAX_GROWTH_BYTES = 50 << 20
# Cheap and expensive methods alike, but not Score-CAM and Occlusion (many seconds per call).
METHODS = (
    "saliency",
    "gradcam",
    "smoothgrad",
    "gradient_input",
    "gradcam_plus_plus",
    "integrated_gradients",
    "layercam",
    "vargrad",
    "guided_backprop",
    "smoothgrad_squared",
    "guided_gradcam",
)
LAYERS = ("head_relu6", "block15_project_bn", "block10_add")  # 7x7, 7x7 and 14x14


def inputs_cycle(source: models.ModelSource):
    """(name, model input) for every sample, the MRI slice under two windows as well."""
    variants = []
    for name in imaging.samples_for(source.sample_kind):
        loaded = imaging.load_sample(name)
        windows = [loaded.default_window]
        if loaded.bit_depth > 8:
            windows.append(imaging.percentile_window(loaded.values))
        for window in windows:
            image = imaging.resize_for_model(imaging.apply_window(loaded.values, window), source.input_size)
            variants.append((name, source.preprocess(image)))
    return itertools.cycle(variants)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--every", type=int, default=20)
    parser.add_argument("--warm-up", type=int, default=40, help="calls before the memory baseline is taken")
    args = parser.parse_args()

    source = models.get_source("efficientnet_lite0")
    model = source.load()
    explainers.warm_up(model)
    images, methods, layers = inputs_cycle(source), itertools.cycle(METHODS), itertools.cycle(LAYERS)
    rng = np.random.default_rng(0)
    baseline, readings, started = None, [], time.perf_counter()
    print(f"{'calls':>5} {'RSS MB':>8} {'vs baseline':>12} {'traces':>7} {'elapsed s':>10}")
    for call in range(1, args.calls + 1):
        _, inputs = next(images)
        method = next(methods)
        top = int(np.argmax(explainers.predict(model, inputs[None])[0]))
        target = top if call % 3 else int(rng.integers(1000))
        layer = next(layers) if explainers.METHODS[method].needs_conv_layer else None
        explainers.explain(model, inputs, method, target=target, layer=layer, baseline=source.black_image())
        if call == args.warm_up:
            baseline = rss_bytes()
        if call % args.every == 0:
            rss = rss_bytes()
            growth = "" if baseline is None else f"{(rss - baseline) / 2**20:+.1f} MB"
            if call > args.warm_up:
                readings.append(rss)
            traced = sum(function.experimental_get_tracing_count() for function in graph_for(model)._functions.values())
            print(f"{call:5d} {rss / 2**20:8.1f} {growth:>12} {traced:7d} {time.perf_counter() - started:10.1f}")
    half = len(readings) // 2
    if half == 0:
        print("too few readings after warm-up to compare: raise --calls or lower --every")
        return 1
    growth = min(readings[half:]) - min(readings[:half])
    verdict = "flat" if growth < MAX_GROWTH_BYTES else "GROWING"
    print(
        f"after warm-up ({args.calls - args.warm_up} calls): resident memory {min(readings) / 2**20:.0f}-"
        f"{max(readings) / 2**20:.0f} MB; lowest reading, second half against first: {growth / 2**20:+.1f} MB "
        f"-> {verdict}"
    )
    return 0 if growth < MAX_GROWTH_BYTES else 1


if __name__ == "__main__":
    sys.exit(main())
