"""Whole folders of images explained at once, on Ray Data: on this machine by default, or on a Ray cluster.
No Streamlit import.

Public API::

    from batch import Settings, run_batch
    summary = run_batch(Path("photos"), Path("out"), Settings(methods=("gradcam",), metrics=True))

Writes ``out/predictions.parquet`` (a row per file: path, label, top-5, per-method seconds and trust metrics, or
the reason it failed), ``out/maps/shard-NNNNN.npz`` (float16 maps), ``out/class_means.npz`` and
``out/summary.json``; an interrupted run resumes without redoing finished shards.
"""

from batch.explain import Explainer, Settings, pack_maps, unpack_maps
from batch.files import ImageFile, find_images
from batch.results import BatchResults, NotABatchResult
from batch.run import SHARD_SIZE, default_workers, explain_in_memory, run_batch, run_in_process, start_ray

__all__ = [
    "SHARD_SIZE",
    "BatchResults",
    "Explainer",
    "ImageFile",
    "NotABatchResult",
    "Settings",
    "default_workers",
    "explain_in_memory",
    "find_images",
    "pack_maps",
    "run_batch",
    "run_in_process",
    "start_ray",
    "unpack_maps",
]
