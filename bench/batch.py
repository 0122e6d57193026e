"""Throughput of ``cli.py batch`` on this machine: images/s on a local Ray with 1 and 2 model actors, against a plain
in-process loop over the same images, and the per-image cost against ``explainers.explain_many`` alone.

    .venv/bin/python bench/batch.py [--images 120] [--methods saliency,gradcam] [--workers 1,2]

Prints absolute figures and ratios measured in this one process (Ray's actors start inside each timed run: what a
user waits for). Goal (issue 15): the per-image cost within 1.2x of ``explain_many``'s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")

import numpy as np

import batch
import explainers
import imaging

PHOTOS = ("coffee", "chelsea", "astronaut", "rocket")


def make_folder(root: Path, count: int) -> Path:
    """``count`` distinct photos: the bundled samples, each copy shifted by a few pixels."""
    folder = root / "photos"
    folder.mkdir()
    names = [n for n in PHOTOS if n in imaging.SAMPLES]
    for index in range(count):
        pixels = np.clip(imaging.load_sample(names[index % len(names)]).pixels, 0, 255).astype(np.uint8)
        shifted = np.roll(pixels, index // len(names), axis=1)
        (folder / f"photo-{index:04d}.png").write_bytes(imaging.png_bytes(shifted))
    return folder


def engine_seconds(folder: Path, settings: batch.Settings) -> tuple[float, float]:
    """Seconds ``explain_many`` takes over the folder's images (decoded beforehand) to explain each one's top class:
    as a caller would, finding the class itself (``target=None``: its prediction and its maps), and with the class
    given (its maps alone)."""
    explainer = batch.Explainer(str(folder), settings)
    model, black = explainer.model, explainer.black
    inputs = [explainer.read(file) for file in batch.find_images(folder)]
    targets = [int(np.argmax(explainers.predict(model, x[None])[0])) for x in inputs]
    list(explainers.explain_many(model, inputs[0], settings.methods, baseline=black))
    timed = []
    for given in (False, True):
        started = time.perf_counter()
        for x, target in zip(inputs, targets, strict=True):
            list(explainers.explain_many(model, x, settings.methods, target=target if given else None, baseline=black))
        timed.append(time.perf_counter() - started)
    return timed[0], timed[1]


def plain_loop(folder: Path, settings: batch.Settings) -> float:
    """Seconds for the whole folder through one in-process Explainer: decode, predict, explain (model loaded and
    traced before the clock starts)."""
    explainer = batch.Explainer(str(folder), settings)
    files = batch.find_images(folder)
    explainer.explain_file(files[0])
    started = time.perf_counter()
    for file in files:
        explainer.explain_file(file)
    return time.perf_counter() - started


def ray_run(folder: Path, single: Path, out: Path, settings: batch.Settings, workers: int) -> tuple[float, float]:
    """The whole run's seconds (the actors' start-up included), and the seconds per image once running: the run
    less one over a single image (start-up and one image), per further image."""
    timed = []
    for source, name in ((single, "single"), (folder, "all")):
        started = time.perf_counter()
        batch.run_batch(source, out / name, settings, workers=workers, progress=None)
        timed.append(time.perf_counter() - started)
    count = len(batch.find_images(folder))
    return timed[1], (timed[1] - timed[0]) / (count - 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=120)
    parser.add_argument("--methods", default="saliency,gradcam")
    parser.add_argument("--workers", default="1,2")
    args = parser.parse_args()
    settings = batch.Settings(methods=tuple(args.methods.split(",")))
    root = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    try:
        folder = make_folder(root, args.images)
        top_class, maps_alone = (seconds / args.images for seconds in engine_seconds(folder, settings))
        engine = top_class
        loop = plain_loop(folder, settings) / args.images
        print(f"machine: {os.cpu_count()} CPUs, {explainers.compute_device()}; {args.images} images, {args.methods}")
        print(
            f"explain_many of the top class: {engine:.3f} s per image ({1 / engine:.2f} images/s); "
            f"its maps alone, the class given: {maps_alone:.3f} s"
        )
        print(f"in-process loop (decode, predict, explain): {1 / loop:.2f} images/s, {loop / engine:.2f}x explain_many")
        single = root / "single"
        single.mkdir()
        first = batch.find_images(folder)[0].path
        (single / first).write_bytes((folder / first).read_bytes())
        batch.start_ray(None)
        for workers in (int(w) for w in args.workers.split(",")):
            seconds, each = ray_run(folder, single, root / f"out-{workers}", settings, workers)
            print(
                f"Ray, {workers} worker(s): {1 / each:.2f} images/s once running ({loop / each:.2f}x the loop; per "
                f"image {each:.3f} s = {each / engine:.2f}x explain_many's); whole run {seconds:.1f} s with the "
                f"actors' start-up ({args.images / seconds:.2f} images/s)"
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
