"""Feature visualisation on the bundled EfficientNet-Lite0: seconds, the logit reached and the saved picture's
top-1 class, against tf-keras-vis's ActivationMaximization with the same number of steps, in one process.

    .venv/bin/python bench/feature_visualization.py                      # five classes, default settings
    .venv/bin/python bench/feature_visualization.py --gallery docs/feature-visualization-gallery.png

Both are timed warm (one short run of each first, so neither pays for its tracing in the figures). Ours scores
4 transformed copies per step (Fourier parametrisation, decorrelated colours); tf-keras-vis optimises the input
directly with its default jitter, rotation, scaling and regularisers. Not a test: nothing asserts.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from PIL import Image, ImageDraw

import explainers
import models
from explainers._graph import graph_for
from introspection.feature_visualization import Settings, predict_picture, visualize

CLASSES = (1, 130, 309, 417, 954)  # goldfish, flamingo, bee, balloon, banana


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gallery", type=Path, default=None, help="write the pictures side by side to this PNG")
    parser.add_argument("--steps", type=int, default=Settings().steps)
    args = parser.parse_args()
    from tf_keras_vis.activation_maximization import ActivationMaximization
    from tf_keras_vis.utils.model_modifiers import ReplaceToLinear
    from tf_keras_vis.utils.scores import CategoricalScore

    source = models.get_source(models.DEFAULT_MODEL)
    model = source.load()
    names = source.class_names()
    graph = graph_for(model)
    theirs = ActivationMaximization(model, model_modifier=ReplaceToLinear(), clone=True)
    low, high = source.black_image().min(), source.preprocess(np.full((1, 1, 3), 255.0)).max()
    visualize(model, source.preprocess, CLASSES[0], settings=Settings(steps=2))  # warm both up
    theirs(CategoricalScore(CLASSES[0]), steps=2)

    print(f"{args.steps} steps, 224x224, {explainers.compute_device()}")
    ours = f"{'class':12} {'ours s':>7} {'logit':>6} {'top-1 (prob)':>28}"
    print(f"{ours} | {'tf-keras-vis s':>14} {'logit':>6} {'top-1':>22}")
    ratios, pictures = [], []
    for target in CLASSES:
        result = visualize(model, source.preprocess, target, settings=Settings(steps=args.steps))
        probabilities = explainers.probabilities(model, predict_picture(model, source.preprocess, result.image))
        top = int(np.argmax(probabilities))
        started = time.perf_counter()
        their_input = np.clip(np.asarray(theirs(CategoricalScore(target), steps=args.steps)), low, high)
        their_seconds = time.perf_counter() - started
        their_top = int(np.argmax(explainers.predict(model, their_input)[0]))
        their_logit = float(graph.objective(their_input, target)[0])
        ratios.append(their_seconds / result.seconds)
        pictures.append((result.image, names[target], top == target))
        print(
            f"{names[target][:12]:12} {result.seconds:7.1f} {result.objective_end:6.1f} "
            f"{names[top][:20]:>20} ({probabilities[top]:.2f}) | {their_seconds:14.1f} {their_logit:6.1f} "
            f"{names[their_top][:22]:>22}"
        )
    hits = sum(hit for _, _, hit in pictures)
    print(f"ours: top-1 = the class for {hits} of {len(CLASSES)}; tf-keras-vis takes {np.median(ratios):.1f}x as long")
    if args.gallery:
        gallery = Image.new("RGB", (224 * len(pictures), 224 + 22), "white")
        draw = ImageDraw.Draw(gallery)
        for index, (picture, name, _) in enumerate(pictures):
            gallery.paste(Image.fromarray(picture), (224 * index, 0))
            draw.text((224 * index + 6, 228), name, fill="black")
        gallery.save(args.gallery)
        print(f"wrote {args.gallery}")


if __name__ == "__main__":
    main()
