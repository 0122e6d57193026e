"""How many model passes Integrated Gradients needs to reach its completeness target, and how close its map is.

    .venv/bin/python bench/integrated_gradients.py              # the bundled photos, default settings
    .venv/bin/python bench/integrated_gradients.py --reference  # and each map against a 1024-step reference

For every bundled photo (EfficientNet-Lite0, black baseline, the top class) it prints the passes, the
measured completeness error and the time at the default settings, next to the same call with the
former settings (32 uniform steps, a batch of intervals bisected per round) as the in-process reference.
Completeness only checks the map's sum; ``--reference`` also prints each map's relative L2 distance to
a 1024-step uniform trapezoid (1025 more passes per photo, about 20 s each on a 2-core CPU).
Not a test: nothing asserts.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

import explainers
import imaging
import models

FORMER = {"steps": 32, "refine_per_round": 8}  # a batch under the default memory budget
REFERENCE_STEPS = 1024


def relative_l2(attribution: np.ndarray, reference: np.ndarray) -> float:
    return float(np.linalg.norm(attribution - reference) / np.linalg.norm(reference))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", action="store_true", help="compare each map with a 1024-step reference")
    args = parser.parse_args()
    source = models.get_source(models.DEFAULT_MODEL)
    model = source.load()
    explainers.warm_up(model)
    photos = [name for name in imaging.samples_for("photo") if imaging.SAMPLES[name].kind == "photo"]
    header = f"{'photo':13} {'passes':>6} {'error':>6} {'s':>5} | {'former':>6} {'error':>6} {'s':>5}"
    print(header + ("  | map vs 1024 steps: now, former" if args.reference else ""))
    passes, former_passes = [], []
    for name in photos:
        loaded = imaging.load_sample(name)
        inputs = source.preprocess(imaging.resize_for_model(loaded.pixels, source.input_size))
        runs = []
        for options in ({}, FORMER):
            started = time.perf_counter()
            explanation = explainers.explain(
                model, inputs, "integrated_gradients", baseline=source.black_image(), **options
            )
            runs.append((explanation, time.perf_counter() - started))
        (now, now_s), (former, former_s) = runs
        passes.append(now.passes)
        former_passes.append(former.passes)
        line = (
            f"{name:13} {now.passes:6d} {now.completeness_relative:6.2%} {now_s:5.2f} | "
            f"{former.passes:6d} {former.completeness_relative:6.2%} {former_s:5.2f}"
        )
        if args.reference:
            reference = explainers.explain(
                model,
                inputs,
                "integrated_gradients",
                baseline=source.black_image(),
                steps=REFERENCE_STEPS,
                tolerance=None,
                target=now.target,
            )
            line += f"  | {relative_l2(now.attribution, reference.attribution):.3f}, "
            line += f"{relative_l2(former.attribution, reference.attribution):.3f}"
        print(line, flush=True)
    median, former_median = float(np.median(passes)), float(np.median(former_passes))
    print(
        f"median passes to the 1 % target: {median:g} (former settings {former_median:g}; "
        f"ratio {median / former_median:.2f}); most {max(passes)}"
    )


if __name__ == "__main__":
    main()
