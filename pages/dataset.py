"""Dataset page: a batch run's results — how often the model is right, what it looks at for each class, and where
its maps are least faithful — with any image one click from the Compare page."""

from __future__ import annotations

import base64
import io
import time
import zipfile
from collections import Counter
from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

import batch
import explainers
import imaging
import models
from introspection import embedding
from models import fashion_mnist
from ui.image_choice import use_image
from ui.kept import first_value, keep_across_pages

CLASS_MAPS_PER_ROW = 6
IN_APP_LIMIT = 300
_IN_MEMORY = "_dataset_in_memory"
MAX_EMBEDDED = 2000  # images in the embedding: t-SNE on 2,000 takes about 5 s on two cores (bench/embedding.py)
THUMB = 48
NEIGHBOURS = 8
GRAY = np.full((1, 1, 3), 128.0, np.float32)


@st.cache_data(max_entries=4, show_spinner=False)
def _load(folder: str, written: float) -> batch.BatchResults:
    """The results, read again when the run rewrites its summary (``written``: its modification time)."""
    return batch.BatchResults.open(Path(folder))


def results_ui() -> batch.BatchResults | None:
    folder = st.text_input(
        "Batch result folder",
        key="dataset_folder",
        placeholder="results/",
        help="The OUT folder of `python cli.py batch DIR --out OUT`, on the machine the app runs on.",
    )
    if not folder:
        st.info("Explain a folder of images with `python cli.py batch DIR --out OUT`, then give OUT here.")
        return None
    summary = Path(folder).expanduser() / "summary.json"
    try:
        return _load(str(Path(folder).expanduser().resolve()), summary.stat().st_mtime)
    except (OSError, batch.NotABatchResult) as error:
        message = str(error) if isinstance(error, batch.NotABatchResult) else f"{folder} holds no summary.json."
        st.error(f"{message} Give the --out folder of a `cli.py batch` run.", icon=":material/folder_off:")
        return None


def _fashion_subset() -> tuple[dict[str, bytes], dict[str, str]]:
    """The bundled Fashion-MNIST test subset, 30 images per class, as PNG files in memory, labelled."""
    subset = fashion_mnist.load_subset()
    images, labels, taken = {}, {}, Counter()
    for index, (image, label) in enumerate(zip(subset["test_images"], subset["test_labels"], strict=True)):
        name = fashion_mnist.CLASS_NAMES[label]
        if taken[name] < IN_APP_LIMIT // len(fashion_mnist.CLASS_NAMES):
            taken[name] += 1
            path = f"{name}/{index:03d}.png"
            images[path], labels[path] = imaging.png_bytes(image), name
    return images, labels


def _uploaded_images(uploads) -> tuple[dict[str, bytes], dict[str, str | None], list[str]]:
    """Uploaded images, and the images inside uploaded zips (a zip's first folder is an image's label), read in
    memory; what is skipped is said."""
    images: dict[str, bytes] = {}
    labels: dict[str, str | None] = {}
    skipped: list[str] = []
    for upload in uploads:
        data = upload.getvalue()
        if not zipfile.is_zipfile(io.BytesIO(data)):
            images[upload.name], labels[upload.name] = data, None
            continue
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for entry in archive.infolist():
                parts = [part for part in entry.filename.split("/") if part]
                if entry.is_dir() or not parts or any(part.startswith((".", "__MACOSX")) for part in parts):
                    continue
                if entry.file_size > imaging.MAX_IMAGE_BYTES:  # read from the zip's directory, before inflating
                    skipped.append(f"{entry.filename} (over {imaging.MAX_IMAGE_BYTES >> 20} MB)")
                    continue
                if len(images) >= IN_APP_LIMIT:
                    skipped.append(f"{entry.filename} and the rest (over {IN_APP_LIMIT} images)")
                    break
                path = "/".join(parts)
                images[path] = archive.read(entry)
                labels[path] = None
    # A class's folder is a path's first folder, below one that holds everything (a zipped dataset folder).
    split = {path: path.split("/") for path in images}
    tops = {parts[0] for parts in split.values() if len(parts) > 1}
    depth = 1 if len(tops) == 1 and all(len(parts) > 2 for parts in split.values()) else 0
    for path, parts in split.items():
        labels[path] = parts[depth] if len(parts) > depth + 1 else None
    if len(images) > IN_APP_LIMIT:
        skipped.append(f"{len(images) - IN_APP_LIMIT} image(s) over {IN_APP_LIMIT}")
        images = dict(list(images.items())[:IN_APP_LIMIT])
    return images, labels, skipped


def computed_ui() -> batch.BatchResults | None:
    """A small dataset explained here, in memory: the bundled Fashion-MNIST subset, or uploaded images and zips."""
    choice = st.radio(
        "Images",
        ["fashion", "upload"],
        format_func={"fashion": "Bundled Fashion-MNIST test subset (300)", "upload": "Your images or a zip"}.get,
        horizontal=True,
        key="dataset_images",
    )
    if choice == "fashion":
        images, labels = _fashion_subset()
        model = "fashion_mnist_cnn"
        skipped: list[str] = []
    else:
        uploads = st.file_uploader(
            f"Images, or a zip with a folder per class (up to {IN_APP_LIMIT} images)",
            accept_multiple_files=True,
            type=None,
            key="dataset_upload",
            help="Read in memory, never written to disk.",
        )
        images, labels, skipped = _uploaded_images(uploads or [])
        available = [name for name, source in models.MODELS.items() if not source.unavailable_reason()]
        model = st.selectbox("Model", available, format_func=lambda n: models.MODELS[n].label, key="dataset_model")
    for note in skipped:
        st.caption(f"Skipped: {note}.")
    left, right = st.columns([3, 1])
    methods = left.multiselect(
        "Methods",
        list(explainers.METHODS),
        format_func=lambda m: explainers.METHODS[m].label,
        key="dataset_methods",
        **first_value("dataset_methods", default=["gradcam", "saliency"]),
    )
    measure = right.toggle("Faithfulness", key="dataset_metrics", help="Deletion and insertion AUCs per map.")
    if st.button(f"Explain {len(images)} images", disabled=not images or not methods, icon=":material/play_arrow:"):
        bar = st.progress(0.0, text="Explaining…")

        def progress(done: int, total: int, seconds: float) -> None:
            bar.progress(done / total, text=f"{done}/{total} images · {done / max(seconds, 1e-9):.1f} images/s")

        settings = batch.Settings(model=model, methods=tuple(methods), metrics=measure)
        st.session_state[_IN_MEMORY] = batch.explain_in_memory(images, labels, settings, progress)
        bar.empty()
    held: batch.BatchResults | None = st.session_state.get(_IN_MEMORY)
    if held is None:
        st.info("Pick the images and methods, then **Explain**: the results stay for this session.")
    return held


def overview_ui(results: batch.BatchResults) -> None:
    summary = results.summary
    columns = st.columns(4)
    columns[0].metric("Images", summary["images"])
    columns[1].metric("Explained", summary["explained"])
    columns[2].metric("Failed", summary["failed"])
    accuracy = summary.get("accuracy")
    columns[3].metric("Accuracy", "—" if accuracy is None else f"{accuracy:.1%}", help="Over the labelled images.")
    origin = summary.get("folder") or "images held in this session's memory"
    st.caption(f"Model {summary['model']} · methods {', '.join(results.methods)} · from {origin}")


def confusion_chart(confusion: pd.DataFrame) -> alt.Chart:
    frame = confusion.stack().rename("images").reset_index()
    base = alt.Chart(frame).encode(
        x=alt.X("predicted:N", title="predicted"), y=alt.Y("label:N", title="label (its folder)")
    )
    cells = base.mark_rect().encode(
        color=alt.Color("images:Q", scale=alt.Scale(scheme="blues")), tooltip=["label", "predicted", "images"]
    )
    counts = base.mark_text(fontSize=11).encode(text="images:Q")
    return (cells + counts).properties(height=max(160, 28 * len(confusion)))


def confusion_ui(results: batch.BatchResults) -> None:
    st.subheader("Confusion matrix")
    if results.labelled.empty:
        st.caption("No labels: put each class's images in a subfolder named after it to compare with predictions.")
        return
    st.altair_chart(confusion_chart(results.confusion()), width="stretch")


def class_means_ui(results: batch.BatchResults) -> None:
    st.subheader("What the model looks at, per class")
    means = results.class_means
    if not means:
        st.caption("No maps were saved.")
        return
    methods = [m for m in results.methods if m in means]
    method = st.selectbox(
        "Method",
        methods,
        index=methods.index("gradcam") if "gradcam" in methods else 0,
        format_func=lambda m: explainers.METHODS[m].label,
        key="dataset_method",
    )
    by = "label" if results.summary.get("class_means_by") == "label" else "predicted class"
    st.caption(f"Each class's mean {explainers.METHODS[method].label} map over its images (by {by}).")
    info = explainers.METHODS[method]
    names = sorted(means[method])
    for start in range(0, len(names), CLASS_MAPS_PER_ROW):
        for column, name in zip(
            st.columns(CLASS_MAPS_PER_ROW), names[start : start + CLASS_MAPS_PER_ROW], strict=False
        ):
            mean = means[method][name]
            picture = imaging.map_overlay(
                np.broadcast_to(GRAY, (*mean.shape, 3)), mean, signed=info.signed, opacity=1.0
            )
            column.image(imaging.png_bytes(picture), caption=name, width="stretch", output_format="PNG")


def least_faithful_ui(results: batch.BatchResults) -> None:
    measured = [m for m in results.methods if f"{m}_insertion_auc" in results.rows]
    if not measured:
        return
    st.subheader("Least faithful maps")
    method = st.selectbox(
        "Method ",
        measured,
        format_func=lambda m: explainers.METHODS[m].label,
        key="dataset_faithfulness_method",
    )
    st.caption("Lowest insertion AUC first: restoring the pixels this map ranks first brings the class back slowest.")
    st.dataframe(results.least_faithful(method), hide_index=True, width="stretch")


@st.cache_resource(max_entries=2, show_spinner=False)
def _explainer(model: str) -> batch.Explainer:
    """The run's model, loaded once, preparing images as the run did."""
    return batch.Explainer("", batch.Settings(model=model))


def _thumbnail(data: bytes) -> str:
    loaded = imaging.load_image(data)
    small = imaging.resize_for_model(imaging.apply_window(loaded.values, loaded.default_window), (THUMB, THUMB))
    encoded = base64.b64encode(imaging.png_bytes(imaging.to_uint8(small)))
    return "data:image/png;base64," + encoded.decode("ascii")


@st.cache_data(max_entries=4, show_spinner=False)
def _features(
    _results: batch.BatchResults, key: str, model: str, paths: tuple[str, ...], layer: str
) -> tuple[np.ndarray, list[str]]:
    """The images' pooled features at ``layer``, and a small PNG data URI of each for the chart's tooltips (cached
    by ``key``, the results' folder or content)."""
    explainer = _explainer(model)
    files = [_results.image_bytes(path) for path in paths]
    inputs = np.stack([explainer.prepare(data) for data in files])
    return embedding.features(explainer.model, inputs, layer), [_thumbnail(data) for data in files]


@st.cache_data(max_entries=8, show_spinner=False)
def _projected(values: np.ndarray, method: str, seed: int) -> np.ndarray:
    return embedding.project(values, method, seed)


def embedding_ui(results: batch.BatchResults, seed: int = 0) -> None:
    st.subheader("Feature embedding")
    model_name = results.summary["model"]
    explained = results.explained.head(MAX_EMBEDDED)
    if results.held_images is None and not Path(results.summary.get("folder") or "").is_dir():
        st.caption(f"The dataset folder {results.summary.get('folder')} is not here, so its images cannot be read.")
        return
    if len(explained) < 3:
        st.caption("An embedding needs at least three explained images.")
        return
    explainer = _explainer(model_name)
    layers = embedding.feature_layers(explainer.model)
    default = embedding.penultimate_layer(explainer.model)
    left, middle, right = st.columns(3)
    layer = left.selectbox(
        "Layer",
        layers,
        index=layers.index(default),
        key="dataset_layer",
        help="Its output, averaged over positions, describes each image. The default feeds the classifier.",
    )
    method = middle.radio(
        "Projection",
        list(embedding.PROJECTIONS),
        format_func=embedding.PROJECTIONS.get,
        horizontal=True,
        key="dataset_projection",
    )
    colours = {"label": "label", "predicted_label": "prediction", "correct": "correct?", "cluster": "k-means cluster"}
    metric_columns = ["probability"] + [
        c for c in results.rows.columns if c.endswith(("_insertion_auc", "_deletion_auc"))
    ]
    colours |= {column: column.replace("_", " ") for column in metric_columns}
    colour = right.selectbox("Colour by", list(colours), format_func=colours.get, key="dataset_colour")
    with st.spinner(f"Features of {len(explained)} images, then {embedding.PROJECTIONS[method]}…"):
        key = results.summary.get("folder") or results.summary["id"]
        values, thumbnails = _features(results, key, model_name, tuple(explained["path"]), layer)
        started = time.perf_counter()
        coordinates = _projected(values, method, seed)
        seconds = time.perf_counter() - started
    classes = list(explained["label"] if (explained["label"] != "").any() else explained["predicted_label"])
    k = min(len(set(classes)), len(values)) or 1
    found = embedding.clusters(values, classes, k, seed)
    frame = pd.DataFrame(
        {
            "x": coordinates[:, 0],
            "y": coordinates[:, 1],
            "path": explained["path"].to_numpy(),
            "label": explained["label"].to_numpy(),
            "predicted_label": explained["predicted_label"].to_numpy(),
            "correct": (explained["label"] == explained["predicted_label"]).to_numpy(),
            "cluster": [found.names[c] for c in found.labels],
            **{column: explained[column].to_numpy() for column in metric_columns},
            "image": thumbnails,
        }
    )
    chart = (
        alt.Chart(frame)
        .mark_circle(size=40, opacity=0.8)
        .encode(
            x=alt.X("x:Q", axis=None),
            y=alt.Y("y:Q", axis=None),
            color=alt.Color(
                f"{colour}:{'Q' if colour in metric_columns else 'N'}",
                title=colours[colour],
                scale=alt.Scale(scheme="viridis") if colour in metric_columns else alt.Undefined,
            ),
            tooltip=["image", "path", "label", "predicted_label", "cluster"],
        )
        .properties(height=460)
    )
    st.altair_chart(chart, width="stretch")
    st.caption(
        f"{len(values)} images, {values.shape[1]} features from {layer}; {embedding.PROJECTIONS[method]} in "
        f"{seconds:.1f} s (seed {seed}). Hover a point for its image. PCA keeps distances along its two axes; "
        "t-SNE and UMAP keep who is near whom, not how far apart groups are."
    )
    picked = st.selectbox("Nearest neighbours of", list(frame["path"]), key="dataset_neighbours")
    index = list(frame["path"]).index(picked)
    neighbours = embedding.nearest(values, index, min(NEIGHBOURS, len(values) - 1))
    for column, neighbour in zip(st.columns(NEIGHBOURS), neighbours, strict=False):
        row = frame.iloc[neighbour]
        column.image(row["image"], caption=f"{row['path']} · {row['predicted_label']}", width="stretch")


def _open(results: batch.BatchResults, path: str) -> None:
    data = results.image_bytes(path)
    if data is None:
        st.session_state["dataset_notice"] = f"{path} is no longer in {results.summary.get('folder')}."
        return
    use_image(data, Path(path).name)
    if results.summary.get("model") in models.MODELS:
        st.session_state["model"] = results.summary["model"]
    st.session_state["dataset_open"] = True


def misclassified_ui(results: batch.BatchResults) -> None:
    st.subheader("Misclassified images")
    wrong = results.misclassified()
    if results.labelled.empty:
        st.caption("No labels, so nothing to call misclassified.")
    elif wrong.empty:
        st.caption("Every labelled image is predicted as its label.")
    else:
        st.dataframe(wrong[["path", "label", "predicted_label", "probability"]], hide_index=True, width="stretch")


def open_ui(results: batch.BatchResults) -> None:
    """Any explained image, misclassified ones first, handed to the Compare page."""
    wrong = list(results.misclassified()["path"])
    paths = wrong + [path for path in results.explained["path"] if path not in set(wrong)]
    if not paths:
        return
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    path = left.selectbox(
        "Open an image in Compare",
        paths,
        key="dataset_image",
        format_func=lambda p: p + (" (misclassified)" if p in wrong else ""),
    )
    right.button(
        "Open in Compare",
        on_click=_open,
        args=(results, path),
        icon=":material/compare:",
        help="Explains this image on the Compare page, with the run's model when it is a named one.",
    )


def main() -> None:
    keep_across_pages()
    st.title("Dataset")
    st.caption("A whole folder explained by `cli.py batch`: accuracy, what the model looks at, where maps fail.")
    if st.session_state.pop("dataset_open", False):
        st.switch_page("pages/compare.py")
    notice = st.session_state.pop("dataset_notice", None)
    if notice:
        st.warning(notice, icon=":material/image_not_supported:")
    source = st.radio(
        "Results",
        ["folder", "here"],
        format_func={"folder": "A cli.py batch result folder", "here": "Compute a small dataset here"}.get,
        horizontal=True,
        key="dataset_source",
    )
    results = results_ui() if source == "folder" else computed_ui()
    if results is None:
        return
    overview_ui(results)
    confusion_ui(results)
    class_means_ui(results)
    least_faithful_ui(results)
    misclassified_ui(results)
    open_ui(results)
    embedding_ui(results)
    if results.summary.get("failures"):
        with st.expander(f"{len(results.summary['failures'])} file(s) could not be explained"):
            st.dataframe(pd.DataFrame(results.summary["failures"]), hide_index=True, width="stretch")


main()
