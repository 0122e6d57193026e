"""Real photographs bundled inside installed wheels: scikit-image, matplotlib, scikit-learn."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Sample:
    name: str
    label: str
    credit: str
    read: Callable[[], np.ndarray]
    kind: str = "photo"
    """What the image is for: ``photo`` (ImageNet models) or ``fashion-mnist``."""

    def __post_init__(self) -> None:
        if self.kind not in ("photo", "fashion-mnist"):
            raise ValueError(f"unknown sample kind {self.kind!r}")


def _skimage(name: str) -> Callable[[], np.ndarray]:
    def read():
        import skimage.data

        return getattr(skimage.data, name)()

    return read


def _sklearn(filename: str) -> Callable[[], np.ndarray]:
    def read():
        from sklearn.datasets import load_sample_image

        return load_sample_image(filename)

    return read


def _grace_hopper() -> np.ndarray:
    import matplotlib
    from PIL import Image

    path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


SAMPLES_DIR = Path(__file__).resolve().parent / "samples"


def _png(path: Path) -> Callable[[], np.ndarray]:
    def read():
        from PIL import Image

        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))

    return read


def _fashion_samples() -> list[Sample]:
    """One Fashion-MNIST test image per class, written with their labels by scripts/train_fashion_mnist.py."""
    labels = json.loads((SAMPLES_DIR / "fashion-mnist.json").read_text("utf-8"))
    credit = "Fashion-MNIST test split (Zalando Research, MIT)"
    return [
        Sample(
            Path(filename).stem, f"Fashion-MNIST: {label}", credit, _png(SAMPLES_DIR / filename), kind="fashion-mnist"
        )
        for filename, label in labels.items()
    ]


SAMPLES: dict[str, Sample] = {
    sample.name: sample
    for sample in (
        Sample("coffee", "Coffee cup", "scikit-image (Rachel Michetti, CC0)", _skimage("coffee")),
        Sample("chelsea", "Chelsea the cat", "scikit-image (Stefan van der Walt, CC0)", _skimage("chelsea")),
        Sample("astronaut", "Astronaut", "scikit-image (NASA, public domain)", _skimage("astronaut")),
        Sample("rocket", "Rocket launch", "scikit-image (SpaceX, CC0)", _skimage("rocket")),
        Sample("grace_hopper", "Grace Hopper", "matplotlib sample data (public domain)", _grace_hopper),
        Sample("china", "Chinese temple", "scikit-learn sample images (CC BY 2.0)", _sklearn("china.jpg")),
        Sample("flower", "Flower", "scikit-learn sample images (CC BY 2.0)", _sklearn("flower.jpg")),
        *_fashion_samples(),
    )
}


@cache
def load_sample(name: str) -> np.ndarray:
    """A bundled sample as float32 RGB (H, W, 3) on the 0..255 scale."""
    try:
        sample = SAMPLES[name]
    except KeyError:
        raise ValueError(f"unknown sample {name!r}; available: {', '.join(SAMPLES)}") from None
    pixels = np.asarray(sample.read(), np.float32)
    pixels.setflags(write=False)
    return pixels
