"""Real images bundled inside installed wheels (scikit-image, matplotlib, scikit-learn) or in this repository."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from imaging.io import LoadedImage


@dataclass(frozen=True)
class Sample:
    name: str
    label: str
    credit: str
    read: Callable[[], np.ndarray]
    """Stored values, (H, W, 3) RGB or (H, W) grayscale, in the file's own units."""
    kind: str = "photo"
    """What the image is for: ``photo`` (ImageNet models), ``fashion-mnist``, or ``scan`` (any model)."""
    bit_depth: int = 8

    def __post_init__(self) -> None:
        if self.kind not in SAMPLE_KINDS:
            raise ValueError(f"unknown sample kind {self.kind!r}")


SAMPLE_KINDS = ("photo", "fashion-mnist", "scan")
# No bundled model was trained on scans: the MRI slice is offered with every model to show the 16-bit path.
_FOR_EVERY_MODEL = ("scan",)


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


def _mri_slice() -> np.ndarray:
    """A 256x256 16-bit MRI slice, read as matplotlib's own example reads it (little-endian uint16)."""
    import gzip

    import matplotlib

    path = Path(matplotlib.get_data_path()) / "sample_data" / "s1045.ima.gz"
    return np.frombuffer(gzip.decompress(path.read_bytes()), "<u2").reshape(256, 256)


SAMPLES_DIR = Path(__file__).resolve().parent / "samples"


def _png(path: Path) -> Callable[[], np.ndarray]:
    def read():
        from PIL import Image

        with Image.open(path) as image:
            return np.asarray(image.convert("L" if image.mode in ("L", "1") else "RGB"))

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
        Sample(
            "mri",
            "MRI slice (16-bit)",
            "matplotlib sample data s1045.ima.gz",
            _mri_slice,
            kind="scan",
            bit_depth=16,
        ),
        *_fashion_samples(),
    )
}


def samples_for(kind: str) -> list[str]:
    """Names of the samples that suit models of this sample kind, in gallery order."""
    own = [name for name, sample in SAMPLES.items() if sample.kind == kind]
    return own + [name for name, sample in SAMPLES.items() if sample.kind in _FOR_EVERY_MODEL and name not in own]


@cache
def load_sample(name: str) -> LoadedImage:
    """A bundled sample with its stored values, like an upload of the same file."""
    try:
        sample = SAMPLES[name]
    except KeyError:
        raise ValueError(f"unknown sample {name!r}; available: {', '.join(SAMPLES)}") from None
    values = np.asarray(sample.read(), np.float32)
    if values.ndim == 2:
        values = values[..., None]
    values.setflags(write=False)
    mode = {1: "L" if sample.bit_depth == 8 else f"I;{sample.bit_depth}", 3: "RGB"}[values.shape[-1]]
    return LoadedImage(values, "sample", mode, sample.bit_depth)
