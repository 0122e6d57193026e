"""Training page: watch a small CNN learn Fashion-MNIST, and its explanations sharpen epoch by epoch."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

import imaging
from introspection.training import ARCHITECTURES, LEARNING_RATES, MAX_EPOCHS, TrainingConfig, TrainingRun, train
from models.fashion_mnist import CLASS_NAMES, load_subset
from ui.jobs import Job, JobContext, current_job, progress_ui, start_job
from ui.kept import first_value, keep_across_pages
from ui.trained import TRAINED, TRAINING_JOB, trained_run

FRAME_PX = 84


@st.cache_resource(show_spinner=False)
def subset() -> dict[str, np.ndarray]:
    """The bundled 3,000 + 600 images, read once for the whole server (read-only arrays)."""
    data = load_subset()
    for array in data.values():
        array.flags.writeable = False
    return data


def config_ui() -> TrainingConfig:
    left, middle, right = st.columns(3)
    architectures = list(ARCHITECTURES)
    architecture = left.selectbox(
        "Architecture",
        architectures,
        format_func=lambda a: ARCHITECTURES[a].label,
        key="train_architecture",
        **first_value("train_architecture", index=architectures.index(TrainingConfig().architecture)),
    )
    epochs = middle.slider("Epochs", 1, MAX_EPOCHS, key="train_epochs", **first_value("train_epochs", value=4))
    learning_rate = right.select_slider(
        "Learning rate",
        LEARNING_RATES,
        key="train_learning_rate",
        format_func=lambda rate: f"{rate:g}",
        **first_value("train_learning_rate", value=1e-3),
    )
    left, middle, _ = st.columns(3)
    batch_size = left.select_slider(
        "Batch size", (16, 32, 64, 128), key="train_batch_size", **first_value("train_batch_size", value=64)
    )
    seed = middle.number_input("Seed", min_value=0, step=1, key="train_seed")
    return TrainingConfig(architecture, int(epochs), float(learning_rate), int(batch_size), int(seed))


def curves_charts(run: TrainingRun) -> alt.HConcatChart:
    """Loss and accuracy: every batch (thin), and per epoch on the training and the held-out images."""
    per_batch = pd.DataFrame(
        {
            "epoch": (np.arange(len(run.batch_losses)) + 1) / max(run.batches_per_epoch, 1),
            "loss": run.batch_losses,
            "accuracy": run.batch_accuracies,
            "set": "train (each batch)",
        }
    )
    per_epoch = pd.DataFrame(
        [
            {"epoch": e.epoch, "loss": loss, "accuracy": accuracy, "set": name}
            for e in run.epochs
            for name, loss, accuracy in (
                ("train (epoch mean)", e.train_loss, e.train_accuracy),
                ("held-out (600 images)", e.test_loss, e.test_accuracy),
            )
        ],
        columns=["epoch", "loss", "accuracy", "set"],
    )
    colour = alt.Color(
        "set:N",
        scale=alt.Scale(
            domain=["train (each batch)", "train (epoch mean)", "held-out (600 images)"],
            range=["#9ecae9", "#4c78a8", "#f58518"],
        ),
        legend=alt.Legend(orient="top", title=None),
    )
    x = alt.X("epoch:Q", scale=alt.Scale(domain=[0, run.config.epochs]), title="epoch")

    def chart(measure: str, axis: alt.Axis) -> alt.LayerChart:
        y = alt.Y(f"{measure}:Q", axis=axis, title=measure)
        batches = alt.Chart(per_batch).mark_line(strokeWidth=1).encode(x=x, y=y, color=colour)
        epochs = (
            alt.Chart(per_epoch)
            .mark_line(point=True)
            .encode(x=x, y=y, color=colour, tooltip=["set", "epoch", alt.Tooltip(f"{measure}:Q", format=".3f")])
        )
        return (batches + epochs).properties(height=220, width=360)

    return alt.hconcat(chart("loss", alt.Axis()), chart("accuracy", alt.Axis(format="%")))


def per_layer_chart(run: TrainingRun, field: str, title: str, log: bool = False, percent: bool = False) -> alt.Chart:
    frame = pd.DataFrame(
        [
            {"epoch": e.epoch, "layer": layer, "value": value}
            for e in run.epochs
            for layer, value in getattr(e, field).items()
        ]
    )
    y = alt.Y(
        "value:Q",
        title=title,
        scale=alt.Scale(type="log") if log else alt.Scale(domain=[0, 1]) if percent else alt.Scale(),
        axis=alt.Axis(format="%") if percent else alt.Axis(),
    )
    return (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=alt.X("epoch:Q", title="epoch", axis=alt.Axis(tickMinStep=1, format="d")),
            y=y,
            color=alt.Color("layer:N", legend=alt.Legend(orient="top", title=None)),
            tooltip=["layer", "epoch", alt.Tooltip("value:Q", format=".3g")],
        )
        .properties(height=220)
    )


def weights_chart(run: TrainingRun) -> alt.FacetChart:
    """Each layer's kernel histogram per epoch, as rows of a heat map: how the weights spread as it learns."""
    rows = [
        {"layer": layer, "epoch": e.epoch, "start": low, "end": high, "count": int(count)}
        for e in run.epochs
        for layer, (counts, edges) in e.weight_histograms.items()
        for low, high, count in zip(edges[:-1], edges[1:], counts, strict=True)
    ]
    cells = (
        alt.Chart()
        .mark_rect()
        .encode(
            x=alt.X("start:Q", title="weight"),
            x2="end:Q",
            y=alt.Y("epoch:O", title="epoch"),
            color=alt.Color("count:Q", scale=alt.Scale(scheme="blues", type="sqrt"), legend=None),
            tooltip=[
                "layer",
                "epoch",
                alt.Tooltip("start:Q", format=".3g"),
                alt.Tooltip("end:Q", format=".3g"),
                "count",
            ],
        )
        .properties(width=150, height=20 * max(len(run.epochs), 2))
    )
    return (
        alt.layer(cells, data=pd.DataFrame(rows))
        .facet(column=alt.Column("layer:N", title=None, sort=list(run.epochs[0].weight_histograms)))
        .resolve_scale(x="independent")
        .properties(title="Weight distribution of each layer, per epoch")
    )


def charts_ui(run: TrainingRun) -> None:
    st.altair_chart(curves_charts(run), width="content")
    if not run.epochs:
        return
    left, right = st.columns(2)
    left.altair_chart(
        per_layer_chart(run, "gradient_norms", "‖∂ loss / ∂ kernel‖ (log)", log=True).properties(
            title="Gradient norm per layer (mean over the epoch's batches)"
        ),
        width="stretch",
        height=280,
    )
    right.altair_chart(
        per_layer_chart(run, "dead_fractions", "never active", percent=True).properties(
            title="Dead units per layer (never active on the 600 held-out images)"
        ),
        width="stretch",
        height=280,
    )
    st.altair_chart(weights_chart(run), width="content")


def _frame_tile(image: np.ndarray, attribution: np.ndarray) -> np.ndarray:
    gray = np.repeat(image.astype(np.float32) * 255.0, 3, axis=-1)
    overlay = imaging.map_overlay(gray, attribution, signed=False, opacity=0.6, normalisation="max")
    return imaging.resized_tile(overlay, FRAME_PX).astype(np.uint8)


def filmstrip_ui(run: TrainingRun) -> None:
    st.subheader("Filmstrip: the same held-out images after each epoch")
    st.caption(
        "Each row is one held-out image explained for its true class, once per epoch: Grad-CAM at the last conv "
        "block (coarse, where the class evidence is) and saliency (the gradient's size at each pixel). The "
        "caption gives the epoch and what the model predicted then."
    )
    for probe, (image, label) in enumerate(zip(run.probe_images, run.probe_labels, strict=True)):
        for method in ("gradcam", "saliency"):
            st.markdown(f"**{CLASS_NAMES[label]}** · {method_name(method)}")
            tiles = [_frame_tile(image, getattr(frame, method)[probe]) for frame in run.frames]
            captions = [f"{frame.epoch}: {CLASS_NAMES[frame.predicted[probe]]}" for frame in run.frames]
            st.image(tiles, caption=captions, width=FRAME_PX)


def method_name(method: str) -> str:
    return {"gradcam": "Grad-CAM", "saliency": "Saliency"}[method]


def open_in_compare(epoch: int) -> None:
    st.session_state["model"] = TRAINED
    st.session_state["trained_epoch"] = epoch


def checkpoints_ui(run: TrainingRun) -> None:
    st.subheader("Open an epoch in the other pages")
    st.caption("Each epoch's weights are kept for this session (in memory): explain any of them on the Compare page.")
    columns = st.columns(min(len(run.checkpoints), 6))
    for epoch in range(1, len(run.checkpoints) + 1):
        column = columns[(epoch - 1) % len(columns)]
        if column.button(
            f"Epoch {epoch} · {run.epochs[epoch - 1].test_accuracy:.0%}",
            key=f"open_epoch_{epoch}",
            on_click=open_in_compare,
            args=(epoch,),
            icon=":material/compare:",
        ):
            st.switch_page("pages/compare.py")


def live_ui(job: Job) -> None:
    run = job.partial
    if run is not None:
        charts_ui(run)


def main() -> None:
    keep_across_pages()
    st.title("Watch a CNN learn")
    st.caption(
        "A small convolutional network trained here, live, on 3,000 Fashion-MNIST images (300 per class; 600 "
        "more held out), by backpropagation: the loss falls, the weights spread, and the explanations of the "
        "same images sharpen. Fashion-MNIST: Zalando Research, MIT licence."
    )
    config = config_ui()
    job = current_job(TRAINING_JOB)
    running = job is not None and job.running
    if st.button("Train", type="primary", icon=":material/model_training:", disabled=running):
        data = subset()

        def work(context: JobContext) -> TrainingRun:
            def report(run: TrainingRun) -> None:
                done = len(run.batch_losses)
                context.report(
                    done / run.total_batches,
                    f"Epoch {min(len(run.epochs) + 1, config.epochs)} of {config.epochs}: batch {done} of "
                    f"{run.total_batches}, loss {run.batch_losses[-1]:.3f}",
                    run,
                )

            return train(config, data, on_batch=report, should_stop=context.should_stop)

        job = start_job(TRAINING_JOB, config, work)
    progress_ui(TRAINING_JOB, live_ui)
    job = current_job(TRAINING_JOB)
    if job is None or job.running:
        return
    if job.error:
        st.error(f"Training failed: {job.error}", icon=":material/error:")
        return
    run: TrainingRun = job.result
    last = run.epochs[-1] if run.epochs else None
    summary = f"Trained {len(run.epochs)} of {run.config.epochs} epochs in {run.seconds:.1f} s"
    if run.stopped:
        summary += " (stopped)"
    if last is not None:
        summary += f"; held-out accuracy {last.test_accuracy:.1%}, loss {last.test_loss:.3f}."
    st.success(summary, icon=":material/check_circle:")
    charts_ui(run)
    if run.frames:
        filmstrip_ui(run)
    if trained_run() is not None:
        checkpoints_ui(run)


main()
