"""Models trained in this session on the Training page, offered to the other pages as "your model at epoch k".

Each epoch's weights stay with the run (in memory); a page that opens one gets a model of its own, built once
per epoch and kept for this session while that run is the latest.
"""

from __future__ import annotations

import streamlit as st

import models
from introspection.training import ARCHITECTURES, TrainingRun, checkpoint_model
from ui.jobs import current_job

TRAINED = "trained"
"""The model picker's value for a checkpoint of this session's training run."""
TRAINING_JOB = "training"
_MODELS = "_trained_models"


def trained_run() -> TrainingRun | None:
    """This session's latest training run with at least one finished epoch (it may still be training)."""
    job = current_job(TRAINING_JOB)
    if job is None:
        return None
    run = job.result if job.result is not None else job.partial
    return run if run is not None and run.checkpoints else None


def trained_source(run: TrainingRun, epoch: int) -> models.ModelSource:
    """Epoch ``epoch`` (1-based) of ``run`` as a model source; the model is built once per run and epoch."""
    run_id, built = st.session_state.get(_MODELS, (None, {}))
    if run_id != run.run_id:
        built = {}
        st.session_state[_MODELS] = (run.run_id, built)
    if epoch not in built:
        built[epoch] = checkpoint_model(run, epoch)
    accuracy = run.epochs[epoch - 1].test_accuracy
    architecture = ARCHITECTURES[run.config.architecture].label
    return models.trained_source(
        name=f"trained-{run.run_id}-epoch-{epoch}",
        label=f"Your CNN at epoch {epoch} (trained here)",
        description=f"{architecture}, trained on this page's Fashion-MNIST subset; epoch {epoch} of "
        f"{run.config.epochs}, held-out accuracy {accuracy:.1%}.",
        model=built[epoch],
    )


def trained_epoch_ui(run: TrainingRun) -> int:
    """Which finished epoch of the run to use (the last one at first)."""
    epochs = list(range(1, len(run.checkpoints) + 1))
    if st.session_state.get("trained_epoch") not in epochs:
        st.session_state["trained_epoch"] = epochs[-1]
    return st.sidebar.selectbox(
        "Epoch",
        epochs,
        key="trained_epoch",
        format_func=lambda k: f"epoch {k} · held-out accuracy {run.epochs[k - 1].test_accuracy:.1%}",
    )
