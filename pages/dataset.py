"""Dataset page: a batch run's results — how often the model is right, what it looks at for each class, and where
its maps are least faithful — with any image one click from the Compare page."""

from __future__ import annotations

import base64
import time
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
from ui.image_choice import use_image
from ui.kept import keep_across_pages

CLASS_MAPS_PER_ROW = 6
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


def overview_ui(results: batch.BatchResults) -> None:
    summary = results.summary
    columns = st.columns(4)
    columns[0].metric("Images", summary["images"])
    columns[1].metric("Explained", summary["explained"])
    columns[2].metric("Failed", summary["failed"])
    accuracy = summary.get("accuracy")
    columns[3].metric("Accuracy", "—" if accuracy is None else f"{accuracy:.1%}", help="Over the labelled images.")
    st.caption(f"Model {summary['model']} · methods {', '.join(results.methods)} · from {summary.get('folder', '?')}")


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
def _explainer(folder: str, model: str) -> batch.Explainer:
    """The run's model, loaded once, reading the run's images as the run did."""
    return batch.Explainer(folder, batch.Settings(model=model))


@st.cache_data(max_entries=4, show_spinner=False)
def _features(folder: str, model: str, paths: tuple[str, ...], layer: str) -> tuple[np.ndarray, list[str]]:
    """The images' pooled features at ``layer``, and a small PNG data URI of each for the chart's tooltips."""
    explainer = _explainer(folder, model)
    inputs = np.stack([explainer.read(batch.ImageFile(path, None)) for path in paths])
    thumbnails = []
    for path in paths:
        loaded = imaging.load_image((Path(folder) / path).read_bytes())
        small = imaging.resize_for_model(imaging.apply_window(loaded.values, loaded.default_window), (THUMB, THUMB))
        encoded = base64.b64encode(imaging.png_bytes(np.clip(np.rint(small), 0, 255).astype(np.uint8)))
        thumbnails.append("data:image/png;base64," + encoded.decode("ascii"))
    return embedding.features(explainer.model, inputs, layer), thumbnails


@st.cache_data(max_entries=8, show_spinner=False)
def _projected(values: np.ndarray, method: str, seed: int) -> np.ndarray:
    return embedding.project(values, method, seed)


def embedding_ui(results: batch.BatchResults, seed: int = 0) -> None:
    st.subheader("Feature embedding")
    folder, model_name = results.summary.get("folder", ""), results.summary["model"]
    explained = results.explained.head(MAX_EMBEDDED)
    if not Path(folder).is_dir():
        st.caption(f"The dataset folder {folder} is not here, so its images' features cannot be computed.")
        return
    explainer = _explainer(folder, model_name)
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
    colour = right.selectbox("Colour by", list(colours), format_func=colours.get, key="dataset_colour")
    with st.spinner(f"Features of {len(explained)} images, then {embedding.PROJECTIONS[method]}…"):
        values, thumbnails = _features(folder, model_name, tuple(explained["path"]), layer)
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
            "image": thumbnails,
        }
    )
    chart = (
        alt.Chart(frame)
        .mark_circle(size=40, opacity=0.8)
        .encode(
            x=alt.X("x:Q", axis=None),
            y=alt.Y("y:Q", axis=None),
            color=alt.Color(f"{colour}:N", title=colours[colour]),
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
    neighbours = embedding.nearest(values, index, NEIGHBOURS)
    for column, neighbour in zip(st.columns(NEIGHBOURS), neighbours, strict=True):
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
        return
    if wrong.empty:
        st.caption("Every labelled image is predicted as its label.")
        return
    table = wrong[["path", "label", "predicted_label", "probability"]]
    st.dataframe(table, hide_index=True, width="stretch")
    left, right = st.columns([3, 1])
    path = left.selectbox("Image", list(wrong["path"]), key="dataset_image")
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
    results = results_ui()
    if results is None:
        return
    overview_ui(results)
    confusion_ui(results)
    class_means_ui(results)
    least_faithful_ui(results)
    misclassified_ui(results)
    embedding_ui(results)
    if results.summary.get("failures"):
        with st.expander(f"{len(results.summary['failures'])} file(s) could not be explained"):
            st.dataframe(pd.DataFrame(results.summary["failures"]), hide_index=True, width="stretch")


main()
