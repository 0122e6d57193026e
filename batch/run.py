"""A folder of images explained on Ray Data, results streamed to disk shard by shard, resumable.

Files are split into shards of :data:`SHARD_SIZE` in path order. Each shard is written once all its images are
done — ``shards/shard-NNNNN.parquet`` (the rows) after ``maps/shard-NNNNN.npz`` (the maps, float16) — so an
interrupted run leaves only whole shards, and the next run skips them. The model is loaded once per actor of an
actor pool (``map_batches`` with :class:`batch.explain.Explainer`); without an address Ray starts on this machine.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from batch.explain import Explainer, Settings, unpack_maps
from batch.files import ImageFile, find_images

if TYPE_CHECKING:
    from batch.results import BatchResults

PROJECT = Path(__file__).resolve().parent.parent
SHARD_SIZE = 32
ROWS_PER_CALL = 8
"""Images an actor explains per call, predicted in one batch: few, so progress is smooth and no actor waits long."""

Progress = Callable[[int, int, float], None]
"""``progress(done, total, seconds)``: images done (this run), images to do, seconds since the run started."""


def shard_name(index: int) -> str:
    return f"shard-{index:05d}"


def _done(out: Path, index: int) -> bool:
    return (out / "shards" / f"{shard_name(index)}.parquet").exists()


def default_workers() -> int:
    """One actor per two cores: each runs TensorFlow's own threads."""
    return max(1, (os.cpu_count() or 2) // 2)


def start_ray(address: str | None, **options) -> None:
    """Join the cluster at ``address``, or start Ray on this machine (``options`` go to ``ray.init``, e.g.
    ``num_cpus``); a Ray already started in this process is used as it is."""
    import ray

    if ray.is_initialized():
        return
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # a local run needs no token in ~/.ray
    os.environ.setdefault("RAY_DATA_LOG_LEVEL", "WARNING")  # our progress line, not Ray Data's execution log
    # The actors import this project: from the same path on every node (the README's cluster set-up).
    code = {"env_vars": {"PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT), os.environ.get("PYTHONPATH")]))}}
    quiet = {"log_to_driver": False, "logging_level": logging.WARNING, "runtime_env": code}
    if address:
        ray.init(address=address, **quiet, **options)
    else:
        ray.init(include_dashboard=False, **quiet, **options)


def write_shard(out: Path, index: int, rows: pd.DataFrame) -> None:
    """The shard's maps, then its rows: each written to a temporary name and renamed, so a shard is whole or absent."""
    ok = rows[rows["error"] == ""].sort_values("path")
    arrays: dict[str, np.ndarray] = {"paths": ok["path"].to_numpy(dtype=str)}
    unpacked = [unpack_maps(data) for data in ok["maps"]]
    for method in unpacked[0] if unpacked else []:
        arrays[method] = np.stack([maps[method] for maps in unpacked])
    for folder in ("maps", "shards"):
        (out / folder).mkdir(parents=True, exist_ok=True)
    maps_path = out / "maps" / f"{shard_name(index)}.npz"
    with open(maps_path.with_suffix(".tmp"), "wb") as file:
        np.savez_compressed(file, **arrays)
    maps_path.with_suffix(".tmp").replace(maps_path)
    rows_path = out / "shards" / f"{shard_name(index)}.parquet"
    rows.drop(columns=["maps"]).sort_values("path").to_parquet(rows_path.with_suffix(".tmp"), index=False)
    rows_path.with_suffix(".tmp").replace(rows_path)


def print_progress(done: int, total: int, seconds: float) -> None:
    """A one-line progress bar on stderr: images, images/s and the time left."""
    rate = done / seconds if seconds > 0 else 0.0
    left = (total - done) / rate if rate > 0 else math.inf
    width = 30
    filled = int(width * done / total) if total else width
    eta = "--" if math.isinf(left) else time.strftime("%H:%M:%S", time.gmtime(left))
    print(
        f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} images · {rate:.2f} images/s · ETA {eta}",
        end="" if done < total else "\n",
        file=sys.stderr,
        flush=True,
    )


def _plan(folder: Path, out: Path) -> tuple[list[ImageFile], list[list[ImageFile]], list[int]]:
    """The folder's images, their shards, and the shards not written yet to ``out`` (created)."""
    files = find_images(folder)
    if not files:
        raise ValueError(f"no images under {folder}")
    shards = [files[start : start + SHARD_SIZE] for start in range(0, len(files), SHARD_SIZE)]
    out.mkdir(parents=True, exist_ok=True)
    return files, shards, [index for index in range(len(shards)) if not _done(out, index)]


def run_batch(
    folder: Path,
    out: Path,
    settings: Settings,
    *,
    address: str | None = None,
    workers: int | None = None,
    progress: Progress | None = print_progress,
) -> dict:
    """Explain every image under ``folder`` into ``out`` (see the module's docstring); returns ``summary.json``."""
    import ray

    files, shards, todo = _plan(folder, out)
    workers = workers or default_workers()
    started = time.perf_counter()
    explained = 0
    if todo:
        start_ray(address)
        cpus = ray.available_resources().get("CPU", 1.0)
        gpus = ray.cluster_resources().get("GPU", 0.0)
        items = [
            {"path": file.path, "label": file.label or "", "shard": index} for index in todo for file in shards[index]
        ]
        blocks = max(1, math.ceil(len(items) / ROWS_PER_CALL))
        workers = min(workers, blocks)  # an actor with no block to take would only load the model
        # Fractional CPUs: on a small machine, whole-CPU actors would leave no CPU to the tasks that feed them.
        per_actor = max(min(cpus / workers, 1.0) * 0.9, 0.1)
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False  # ours says images/s and the time left
        context.print_on_execution_start = False
        with warnings.catch_warnings():
            # max_restarts=0 goes through map_batches' remote arguments, deprecated from Ray 2.60 with no named
            # replacement yet; without it every actor logs that a restart could lose its constructor arguments.
            warnings.filterwarnings("ignore", "`ray_remote_args` is deprecated")
            dataset = ray.data.from_items(items, override_num_blocks=blocks).map_batches(
                Explainer,
                fn_constructor_kwargs={
                    "folder": str(folder),
                    "settings": settings,
                    "threads": max(1, (os.cpu_count() or 2) // workers),
                },
                batch_size=ROWS_PER_CALL,
                compute=ray.data.ActorPoolStrategy(size=workers),
                num_cpus=per_actor,
                num_gpus=1 if gpus >= workers else 0,
                max_restarts=0,  # a crashed actor fails the run (resume redoes its shards) rather than restarting
            )
        pending: dict[int, list[pd.DataFrame]] = {}
        for batch in dataset.iter_batches(batch_size=None, batch_format="pandas"):
            for index, rows in batch.groupby("shard"):
                pending.setdefault(int(index), []).append(rows)
                frame = pd.concat(pending[int(index)])
                if len(frame) == len(shards[int(index)]):
                    write_shard(out, int(index), frame)
                    del pending[int(index)]
            explained += len(batch)
            if progress:
                progress(explained, len(items), time.perf_counter() - started)
    seconds = time.perf_counter() - started
    return finish(out, folder, files, settings, seconds, explained, workers, address)


def _call_batch(files: list[ImageFile], shard: int) -> dict[str, list]:
    """``files`` as the batch Ray Data hands an :class:`Explainer`, so every way of running makes rows alike."""
    return {"path": [f.path for f in files], "label": [f.label or "" for f in files], "shard": [shard] * len(files)}


def run_in_process(folder: Path, out: Path, settings: Settings, progress: Progress | None = None) -> dict:
    """The same results as :func:`run_batch`, computed in this process without Ray (a small folder, a page that
    computes in the app, a test); shards and resume work the same way."""
    files, shards, todo = _plan(folder, out)
    started, explained = time.perf_counter(), 0
    explainer = Explainer(str(folder), settings) if todo else None
    total = sum(len(shards[index]) for index in todo)
    for index in todo:
        frames = []
        for start in range(0, len(shards[index]), ROWS_PER_CALL):
            chunk = shards[index][start : start + ROWS_PER_CALL]
            frames.append(pd.DataFrame(explainer(_call_batch(chunk, index))))
            explained += len(chunk)
            if progress:
                progress(explained, total, time.perf_counter() - started)
        write_shard(out, index, pd.concat(frames, ignore_index=True))
    return finish(out, folder, files, settings, time.perf_counter() - started, explained, 0, "in-process")


def explain_in_memory(
    images: dict[str, bytes], labels: dict[str, str | None], settings: Settings, progress: Progress | None = None
) -> BatchResults:
    """A few hundred images held in memory (uploads, a zip, a bundled subset), explained in this process: the same
    rows and maps as a batch run, kept in the returned results and written nowhere."""
    from batch.results import BatchResults

    explainer = Explainer("", settings, reader=images.__getitem__)
    files = [ImageFile(path, labels.get(path)) for path in sorted(images)]
    frames, started = [], time.perf_counter()
    for start in range(0, len(files), ROWS_PER_CALL):
        frames.append(pd.DataFrame(explainer(_call_batch(files[start : start + ROWS_PER_CALL], -1))))
        if progress:
            progress(min(start + ROWS_PER_CALL, len(files)), len(files), time.perf_counter() - started)
    frame = pd.concat(frames, ignore_index=True)
    maps = {path: unpack_maps(data) for path, data in zip(frame["path"], frame["maps"], strict=True) if data}
    frame = frame.drop(columns=["maps", "shard"])
    digest = hashlib.sha256()
    for path in sorted(images):
        digest.update(path.encode() + hashlib.sha256(images[path]).digest())
    summary = {
        "folder": None,
        "id": f"memory-{digest.hexdigest()[:16]}-{settings.model}-{','.join(settings.methods)}",
        **_summary(frame, len(files), settings),
        "this_run": {"images": len(files), "seconds": time.perf_counter() - started, "address": "in memory"},
    }
    return BatchResults(Path(), summary, frame, maps, dict(images))


def _summary(rows: pd.DataFrame, images: int, settings: Settings) -> dict:
    """What ``summary.json`` says of any run's rows: counts, accuracy over the labelled images, settings, failures."""
    ok = rows[rows["error"] == ""]
    labelled = ok[ok["label"] != ""]
    return {
        "images": images,
        "explained": len(ok),
        "failed": len(rows) - len(ok),
        "labelled": len(labelled),
        "accuracy": None if labelled.empty else float((labelled["label"] == labelled["predicted_label"]).mean()),
        "model": settings.model,
        "methods": list(settings.methods),
        "metrics": settings.metrics,
        "seed": settings.seed,
        "settings": asdict(settings),
        "class_means_by": "label" if not labelled.empty else "predicted_label",
        "failures": [{"path": r.path, "error": r.error} for r in rows[rows["error"] != ""].itertuples()],
    }


def finish(
    out: Path,
    folder: Path,
    files: list[ImageFile],
    settings: Settings,
    seconds: float,
    explained: int,
    workers: int,
    address: str | None,
) -> dict:
    """``predictions.parquet`` from every shard, the per-class mean maps and ``summary.json``."""
    rows = pd.concat(
        [pd.read_parquet(path) for path in sorted((out / "shards").glob("shard-*.parquet"))], ignore_index=True
    ).sort_values("path", ignore_index=True)
    rows.to_parquet(out / "predictions.parquet", index=False)
    means = class_means(out, rows[rows["error"] == ""])
    np.savez_compressed(out / "class_means.npz", **means)
    summary = {
        "folder": str(folder.resolve()),
        **_summary(rows, len(files), settings),
        "class_means": "class_means.npz",
        "predictions": "predictions.parquet",
        "maps": "maps/",
        "this_run": {
            "images": explained,
            "seconds": seconds,
            "images_per_second": explained / seconds if explained and seconds > 0 else None,
            "workers": workers,
            "address": address or "local",
        },
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _shard_maps(out: Path) -> Iterator[tuple[str, dict[str, np.ndarray]]]:
    """Every image's maps from the shards on disk, one shard in memory at a time."""
    for path in sorted((out / "maps").glob("shard-*.npz")):
        with np.load(path) as archive:
            methods = [name for name in archive.files if name != "paths"]
            stacks = {method: archive[method] for method in methods}
            for index, image_path in enumerate(archive["paths"]):
                yield str(image_path), {method: stacks[method][index] for method in methods}


def class_means(out: Path, ok: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per class and method, the mean map (float32), ``<method>/<class>`` keys, from the shards on disk."""
    return mean_maps(ok, _shard_maps(out))


def mean_maps(ok: pd.DataFrame, maps: Iterable[tuple[str, dict[str, np.ndarray]]]) -> dict[str, np.ndarray]:
    """Per class and method, the mean of the images' maps, ``<method>/<class>`` keys. The class is the true label
    where the images have labels, else the predicted one."""
    by_label = (ok["label"] != "").any()
    classes = dict(zip(ok["path"], ok["label"] if by_label else ok["predicted_label"], strict=True))
    sums: dict[tuple[str, str], np.ndarray] = {}
    counts: dict[tuple[str, str], int] = {}
    for image_path, image_maps in maps:
        name = classes.get(image_path)
        if not name:
            continue
        for method, attribution in image_maps.items():
            key = (method, name)
            sums[key] = sums.get(key, 0.0) + attribution.astype(np.float32)
            counts[key] = counts.get(key, 0) + 1
    return {f"{method}/{name}": sums[(method, name)] / counts[(method, name)] for method, name in sums}
