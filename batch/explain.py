"""One image file through one model: its prediction, the chosen maps and (optionally) their faithfulness, as a row
of the batch's results. The same steps as ``cli.py`` and the app take for one image, so the maps are the same."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import explainers
import imaging
from batch.files import ImageFile


@dataclass(frozen=True)
class Settings:
    model: str = "efficientnet_lite0"
    """A model name (``cli.py --list-models``) or a ``.keras``/``.h5`` file (its preprocessing guessed)."""
    methods: tuple[str, ...] = explainers.DEFAULT_METHODS
    metrics: bool = False
    """Deletion and insertion AUCs per map, beside a random order's (``2 * STEPS + 1`` forward passes each)."""
    seed: int = 0
    options: dict = field(default_factory=dict)
    """Method options, as ``explainers.explain_many`` takes them."""


def load_source(name: str):
    """A named model, or a model file with the preprocessing the app would guess for it."""
    import models

    if not name.lower().endswith(models.MODEL_EXTENSIONS):
        return models.get_source(name)
    path = Path(name)
    file = models.load_model_file(path.read_bytes(), path.name)
    return models.uploaded_source(file, models.guess_preset(file.model).preset)


def one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


class Explainer:
    """A model loaded once (per Ray actor, or in this process) that explains image files of one folder.

    Called by Ray Data with a batch of rows (``path``, ``label``, ``shard``), it returns them with their results and
    a ``maps`` column: each image's maps as float16 in ``.npz`` bytes (empty for a file that failed).
    """

    def __init__(
        self,
        folder: str,
        settings: Settings,
        threads: int | None = None,
        reader: Callable[[str], bytes] | None = None,
    ) -> None:
        """``reader(path)`` gives a file's bytes when they are not files under ``folder`` (images held in memory)."""
        if threads:
            import tensorflow as tf

            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        self.folder = Path(folder)
        self.reader = reader
        self.settings = settings
        self.source = load_source(settings.model)
        self.model = self.source.load()
        self.names = self.source.class_names()
        self.black = self.source.black_image()

    def explain_file(self, file: ImageFile) -> tuple[dict, dict[str, np.ndarray]]:
        """The row of ``file``'s results and its maps (float32, at the model's input size); a file that cannot be
        read or explained gets its reason in ``error`` and no maps."""
        ((row, maps),) = self.explain_files([file])
        return row, maps

    def explain_files(self, files: list[ImageFile]) -> list[tuple[dict, dict[str, np.ndarray]]]:
        """``explain_file`` for several files, their predictions made in one batch."""
        started = time.perf_counter()
        rows = [{"path": file.path, "label": file.label or "", "error": ""} for file in files]
        inputs: dict[int, np.ndarray] = {}
        for index, file in enumerate(files):
            try:
                inputs[index] = self.read(file)
            except (OSError, imaging.ImageError, ValueError) as error:
                rows[index]["error"] = one_line(error)
        outputs = {}
        if inputs:
            predicted = explainers.predict(self.model, np.stack(list(inputs.values())))
            outputs = dict(zip(inputs, predicted, strict=True))
        prepared = time.perf_counter() - started
        results = []
        for index, row in enumerate(rows):
            if index not in inputs:
                results.append((row, {}))
                continue
            began = time.perf_counter()
            try:
                found, maps = self._explain(inputs[index], outputs[index])
            except ValueError as error:
                row["error"] = one_line(error)
                results.append((row, {}))
                continue
            row |= found
            row["seconds"] = time.perf_counter() - began + prepared / len(inputs)
            results.append((row, maps))
        return results

    def read(self, file: ImageFile) -> np.ndarray:
        """The file as the model's input (see :meth:`prepare`)."""
        if self.reader is not None:
            data = self.reader(file.path)
            imaging.check_image_size(len(data))
        else:
            path = self.folder / file.path
            imaging.check_image_size(path.stat().st_size)
            data = path.read_bytes()
        return self.prepare(data)

    def prepare(self, data: bytes) -> np.ndarray:
        """An image file's bytes as the model's input: decoded, through its default window, resized, preprocessed."""
        loaded = imaging.load_image(data)
        return self.source.prepare(loaded.values, loaded.default_window)[1]

    def _explain(self, inputs: np.ndarray, outputs: np.ndarray) -> tuple[dict, dict[str, np.ndarray]]:
        model, settings = self.model, self.settings
        if not np.isfinite(outputs).all():
            raise ValueError("the model's outputs are NaN or infinite for this image")
        probabilities = explainers.probabilities(model, outputs)
        prediction = explainers.Prediction(explainers.output_kind(model), outputs, probabilities, self.names)
        top = prediction.ranked()[:5]
        predicted = top[0]
        row = {
            "predicted": predicted,
            "predicted_label": self.names[predicted],
            "probability": float("nan") if probabilities is None else float(probabilities[predicted]),
            "top5": json.dumps(
                [
                    {
                        "index": i,
                        "label": self.names[i],
                        "output": float(outputs[i]),
                        "probability": None if probabilities is None else float(probabilities[i]),
                    }
                    for i in top
                ]
            ),
        }
        maps = {}
        for explanation in explainers.explain_many(
            model,
            inputs,
            settings.methods,
            target=predicted,
            baseline=self.black,
            options=settings.options,
            seed=settings.seed,
        ):
            method = explanation.method
            maps[method] = explanation.attribution
            row[f"{method}_seconds"] = explanation.elapsed_s
            row[f"{method}_passes"] = explanation.passes
            row[f"{method}_completeness"] = _number(explanation.completeness_relative)
            row[f"{method}_reliability"] = _number(explanation.reliability)
        if settings.metrics:
            import metrics

            chance = metrics.random_curves(model, inputs, predicted, self.black, seed=settings.seed)
            row["random_deletion_auc"], row["random_insertion_auc"] = chance.deletion_auc, chance.insertion_auc
            for method, attribution in maps.items():
                curves = metrics.curves(model, inputs, attribution, predicted, self.black, seed=settings.seed)
                row[f"{method}_deletion_auc"], row[f"{method}_insertion_auc"] = (
                    curves.deletion_auc,
                    curves.insertion_auc,
                )
        return row, maps

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        files = [
            ImageFile(str(path), str(label) or None) for path, label in zip(batch["path"], batch["label"], strict=True)
        ]
        rows = []
        for (row, maps), shard in zip(self.explain_files(files), batch["shard"], strict=True):
            row["shard"] = int(shard)
            row["maps"] = pack_maps(maps)
            rows.append(row)
        return columns(rows, self.settings)


def _number(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def result_columns(settings: Settings) -> dict[str, object]:
    """Every column a result row has, with the value a failed file gets: the same columns in every batch."""
    empty: dict[str, object] = {
        "path": "",
        "label": "",
        "error": "",
        "shard": -1,
        "predicted": -1,
        "predicted_label": "",
        "probability": float("nan"),
        "top5": "[]",
        "seconds": float("nan"),
    }
    for method in settings.methods:
        empty |= {f"{method}_seconds": float("nan"), f"{method}_passes": 0}
        empty |= {f"{method}_completeness": float("nan"), f"{method}_reliability": float("nan")}
        if settings.metrics:
            empty |= {f"{method}_deletion_auc": float("nan"), f"{method}_insertion_auc": float("nan")}
    if settings.metrics:
        empty |= {"random_deletion_auc": float("nan"), "random_insertion_auc": float("nan")}
    return empty | {"maps": b""}


def columns(rows: list[dict], settings: Settings) -> dict[str, np.ndarray]:
    empty = result_columns(settings)
    filled = [empty | row for row in rows]
    return {name: np.array([row[name] for row in filled], dtype=object if name == "maps" else None) for name in empty}


def pack_maps(maps: dict[str, np.ndarray]) -> bytes:
    """One image's maps as float16 in ``.npz`` bytes (half the size; 3 significant digits are plenty for a map)."""
    if not maps:
        return b""
    buffer = io.BytesIO()
    np.savez(buffer, **{method: attribution.astype(np.float16) for method, attribution in maps.items()})
    return buffer.getvalue()


def unpack_maps(data: bytes) -> dict[str, np.ndarray]:
    if not data:
        return {}
    with np.load(io.BytesIO(data)) as archive:
        return {name: archive[name] for name in archive.files}
