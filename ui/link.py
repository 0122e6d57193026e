"""A link that reopens the view: the Compare page's choices in the address's query parameters.

The address carries the model (bundled or Keras Applications), the sample image, the methods, the class, the
CAM layer and the display settings, so that a presenter can bookmark or share a view. Opening such a link in a
new session restores them (:func:`restore_from_link`, before any widget is drawn); each run then writes the
current choices back (:func:`write_link`). Uploads never go into an address: with an uploaded model or image
the page says what to upload again.
"""

from __future__ import annotations

import streamlit as st

import explainers
import imaging
import models

_RESTORED = "_link_restored"
LINK_TARGET = "_link_target"
"""The class asked for by a link, applied once the prediction's class picker exists (``ui.prediction``)."""
LINK_LAYER = "_link_layer"
"""The CAM layer asked for by a link, applied once the model's layers are known (``ui.model_choice``)."""


def _first(value: str | None, allowed) -> str | None:
    return value if value is not None and value in allowed else None


def restore_from_link() -> list[str]:
    """On a session's first run, the link's choices become the widgets' values; returns what the link asked for
    that this app cannot give (an unknown model, method, ...), to say on the page."""
    if st.session_state.get(_RESTORED):
        return []
    st.session_state[_RESTORED] = True
    params = st.query_params
    ignored = []
    model = params.get("model")
    if model is not None:
        if model in models.MODELS:
            st.session_state["model"] = model
        else:
            ignored.append(f"model {model!r}")
    source = models.MODELS.get(st.session_state.get("model", models.DEFAULT_MODEL))
    kind = source.sample_kind if source is not None else "photo"
    sample = params.get("sample")
    if sample is not None:
        if sample in imaging.samples_for(kind):
            st.session_state["image_source"] = "Sample"
            st.session_state[f"sample_{kind}"] = sample
        else:
            ignored.append(f"sample {sample!r}")
    if "methods" in params:
        wanted = [m for m in params["methods"].split(",") if m]
        known = [m for m in wanted if m in explainers.METHODS]
        ignored += [f"method {m!r}" for m in wanted if m not in explainers.METHODS]
        st.session_state["methods"] = known
    if params.get("layer"):
        st.session_state[LINK_LAYER] = params["layer"]
    for key, allowed in (("colormap", imaging.COLORMAPS), ("normalisation", imaging.NORMALISATIONS)):
        value = _first(params.get(key), allowed)
        if value is not None:
            st.session_state[key] = value
    try:
        if "opacity" in params:
            st.session_state["opacity"] = min(max(round(float(params["opacity"]) * 20) / 20, 0.0), 1.0)
        if "target" in params:
            st.session_state[LINK_TARGET] = int(params["target"])
    except ValueError:
        ignored.append("a value that is not a number")
    if "outlines" in params:
        st.session_state["outlines"] = params["outlines"] != "0"
    return ignored


def link_choice(key: str, options: list) -> dict:
    """``index=`` for a widget whose value a link asked for (once, and only if it is one of ``options``)."""
    wanted = st.session_state.pop(key, None)
    return {"index": options.index(wanted)} if wanted in options else {}


def write_link(source: models.ModelSource, uploaded_image: bool, target: int, layer: str | None) -> None:
    """Put the current view in the address (replacing what was there); say what a link cannot carry."""
    shareable = source.name in models.MODELS and not uploaded_image
    values: dict[str, str] = {}
    if shareable:
        values["model"] = source.name
        values["sample"] = st.session_state.get(f"sample_{source.sample_kind}", "")
        values["methods"] = ",".join(st.session_state.get("methods", explainers.DEFAULT_METHODS))
        values["target"] = str(target)
        if layer is not None:
            values["layer"] = layer
        for key in ("colormap", "normalisation"):
            if key in st.session_state:
                values[key] = str(st.session_state[key])
        if "opacity" in st.session_state:
            values["opacity"] = f"{st.session_state['opacity']:g}"
        if "outlines" in st.session_state:
            values["outlines"] = "1" if st.session_state["outlines"] else "0"
    if dict(st.query_params) != values:
        st.query_params.from_dict(values)
    if not shareable:
        what = (
            "model and image"
            if source.name not in models.MODELS and uploaded_image
            else ("image" if uploaded_image else "model")
        )
        st.caption(
            f"The address does not carry your uploaded {what} (uploads never leave this session): a link to this "
            f"view would ask for the {what} to be uploaded again."
        )
