"""A batch run's results, read back for a page or a notebook: predictions, maps, class means, and the views on them
a reader asks for first (the confusion matrix, the misclassified images, the least faithful maps)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd


class NotABatchResult(ValueError):
    """The folder is not what ``cli.py batch`` writes."""


@dataclass
class BatchResults:
    folder: Path
    summary: dict
    rows: pd.DataFrame
    """``predictions.parquet``: one row per file, failures included (``error`` not empty)."""
    held_maps: dict[str, dict[str, np.ndarray]] | None = None
    """For results computed in memory (:func:`batch.explain_in_memory`): each image's maps, by path."""
    held_images: dict[str, bytes] | None = None
    """For results computed in memory: the images themselves, by path (never written anywhere)."""

    @classmethod
    def open(cls, folder: Path) -> BatchResults:
        folder = Path(folder)
        try:
            summary = json.loads((folder / "summary.json").read_text())
            rows = pd.read_parquet(folder / summary.get("predictions", "predictions.parquet"))
        except FileNotFoundError:
            raise NotABatchResult(f"{folder} holds no summary.json and predictions.parquet from cli.py batch") from None
        except (OSError, ValueError) as error:
            raise NotABatchResult(f"{folder}: the batch result cannot be read ({error})") from None
        return cls(folder, summary, rows)

    @property
    def methods(self) -> list[str]:
        return list(self.summary.get("methods", []))

    @property
    def explained(self) -> pd.DataFrame:
        return self.rows[self.rows["error"] == ""]

    @property
    def labelled(self) -> pd.DataFrame:
        explained = self.explained
        return explained[explained["label"] != ""]

    def confusion(self) -> pd.DataFrame:
        """Counts of (label, predicted label) over the labelled images: labels as rows, predictions as columns."""
        labelled = self.labelled
        return pd.crosstab(labelled["label"], labelled["predicted_label"]).rename_axis(
            index="label", columns="predicted"
        )

    def misclassified(self) -> pd.DataFrame:
        labelled = self.labelled
        return labelled[labelled["label"] != labelled["predicted_label"]]

    def least_faithful(self, method: str, count: int = 12) -> pd.DataFrame:
        """The images whose ``method`` map did worst on insertion (lowest AUC first), with their deletion AUC and
        the random order's beside them; empty without ``--metrics``."""
        column = f"{method}_insertion_auc"
        if column not in self.rows:
            return self.rows.iloc[0:0]
        measured = self.explained.dropna(subset=[column])
        keep = ["path", "label", "predicted_label", f"{method}_deletion_auc", column, "random_insertion_auc"]
        return measured.nsmallest(count, column)[keep]

    @cached_property
    def class_means(self) -> dict[str, dict[str, np.ndarray]]:
        """Per method, per class, the mean map (float32); classes by label, or by prediction without labels."""
        from batch.run import mean_maps

        means: dict[str, dict[str, np.ndarray]] = {}
        if self.held_maps is not None:
            flat = mean_maps(self.explained, self.held_maps.items())
        else:
            path = self.folder / self.summary.get("class_means", "class_means.npz")
            flat = {}
            if path.exists():
                with np.load(path) as archive:
                    flat = {key: archive[key] for key in archive.files}
        for key, mean in flat.items():
            method, name = key.split("/", 1)
            means.setdefault(method, {})[name] = mean
        return means

    def maps_of(self, path: str) -> dict[str, np.ndarray]:
        """One image's maps (float16, per method), read from the shard that holds them; empty if none."""
        if self.held_maps is not None:
            return self.held_maps.get(path, {})
        for shard in sorted((self.folder / "maps").glob("shard-*.npz")):
            with np.load(shard) as archive:
                paths = list(archive["paths"])
                if path in paths:
                    index = paths.index(path)
                    return {name: archive[name][index] for name in archive.files if name != "paths"}
        return {}

    def image_bytes(self, path: str) -> bytes | None:
        """The image file itself, when the dataset folder the run read is still there (or it is held in memory)."""
        if self.held_images is not None:
            return self.held_images.get(path)
        source = Path(self.summary.get("folder", "")) / path
        try:
            return source.read_bytes()
        except OSError:
            return None
