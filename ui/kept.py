"""Choices that outlive a page change: the model, the image, the class, the methods and the display.

Streamlit forgets a widget's value when a page that does not draw it runs. Each page calls
:func:`keep_across_pages` first (in ``app.py``, before the page runs, is too early: the page change drops
them after it), which re-saves these widgets' values, so that the Compare and
Layers pages share one choice of model, image and class. A widget whose value may have been re-saved takes
its default through :func:`first_value`, since Streamlit warns about a default given to a widget whose value was
also set through the session state.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

KEPT_KEYS = (
    "model",
    "image_source",
    "methods",
    "seed",
    "colormap",
    "opacity",
    "normalisation",
    "outlines",
    "trained_epoch",
    "second_model",  # the two-models page's second model
    "shared_class",
    "two_models_target",
    "dataset_folder",
    "dataset_source",
    "dataset_images",
    "dataset_methods",
    "dataset_metrics",
    "dataset_model",
    "dataset_projection",
    "dataset_colour",
)
KEPT_PREFIXES = (
    "layer_",  # the CAM layer, per model
    "second_layer_",  # the second model's CAM layer, per model
    "preprocessing_",  # an uploaded model's preset, per file
    "sample_",  # the sample image, per kind (photo, grayscale)
    "intensity_",  # the intensity window, per image
    "frame_",  # a multi-frame DICOM file's frame, per file
    "percentiles_",
    "level_",
    "width_",
    "target_",  # the class, per prediction
    "train_",  # the training page's settings
    "inside_",  # the Layers page's choices (its buttons are keyed otherwise: a button's value cannot be set)
)


def keep_across_pages() -> None:
    """Re-save the shared widgets' values, which Streamlit would otherwise drop on a page change."""
    for key in list(st.session_state):
        if key in KEPT_KEYS or key.startswith(KEPT_PREFIXES):
            st.session_state[key] = st.session_state[key]


def first_value(key: str, **defaults: Any) -> dict[str, Any]:
    """``defaults`` (e.g. ``index=3``) for a widget's first appearance only: a value kept in the session wins."""
    return {} if key in st.session_state else defaults
