"""The model's prediction for the chosen image, shared by the pages: the picture as the model sees it, the top-5
chart and the class to explain (kept across pages by ``ui.kept``)."""

from __future__ import annotations

from dataclasses import dataclass

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

import explainers
import imaging
from explainers import Prediction
from ui.cache import content_key, session_cache
from ui.image_choice import PickedImage, image_ui, intensity_ui
from ui.link import LINK_TARGET, link_choice
from ui.model_choice import ChosenModel, model_ui
from ui.profile import phase


def predictions_chart(prediction: Prediction) -> alt.Chart:
    frame = pd.DataFrame(prediction.chart_rows(), columns=["class", "value"])
    if prediction.probabilities is None:
        x = alt.X("value:Q", title="output")
        text_format = ".3g"
    else:
        x = alt.X("value:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%", title="probability"))
        text_format = ".1%"
    bars = (
        alt.Chart(frame)
        .mark_bar(color="#4c78a8")
        .encode(
            x=x,
            y=alt.Y("class:N", sort="-x", title=None, axis=alt.Axis(labelLimit=220, labelOverlap=False)),
            tooltip=["class", alt.Tooltip("value:Q", format=text_format)],
        )
    )
    labels = bars.mark_text(align="left", dx=3).encode(text=alt.Text("value:Q", format=text_format))
    return (bars + labels).properties(height=200, title=prediction.chart_title)


def target_ui(prediction: Prediction) -> int:
    """The class to explain: the top five first, then every other class by name (type to search)."""
    names = prediction.names
    if len(names) == 1:
        st.caption(f"One output: the maps explain {names[0]}; signed maps show evidence against it in blue.")
    top = prediction.ranked()[:5]
    rest = sorted((i for i in range(len(names)) if i not in top), key=lambda i: names[i].lower())
    # Keyed by what the labels say: a keyed selectbox whose value survives a rerun keeps showing its old
    # label, which would show a stale probability or class name after a new image or a names upload.
    key = f"target_{content_key(prediction.outputs, np.array(names))[:12]}"
    return st.selectbox(
        "Explain class",
        top + rest,
        key=key,
        format_func=lambda i: f"{names[i]} · {prediction.confidence(i)}",
        **(link_choice(LINK_TARGET, top + rest) if key not in st.session_state else {}),
    )


def prediction_ui(picked: PickedImage, image: np.ndarray, prediction: Prediction) -> int:
    left, right = st.columns([1, 2])
    # PNG: lossless, where Streamlit would re-encode an RGB picture as JPEG.
    left.image(
        imaging.png_bytes(imaging.to_uint8(image)),
        caption=f"{picked.title}, as the model sees it"
        + (f" ({picked.loaded.spacing_text})" if picked.loaded.spacing_text else ""),
        width="stretch",
        output_format="PNG",
    )
    with right:
        st.altair_chart(predictions_chart(prediction), width="stretch")
        return target_ui(prediction)


@dataclass(frozen=True)
class Case:
    """One image through one model: what both pages start from."""

    chosen: ChosenModel
    picked: PickedImage
    window: imaging.Window
    """How the stored values became 0..255."""
    image: np.ndarray
    """The image at the model's input size, 0..255, as the model sees it (after the intensity window)."""
    inputs: np.ndarray
    """The same, preprocessed: the model's input."""
    prediction: Prediction


def case_for(chosen: ChosenModel, picked: PickedImage, window: imaging.Window) -> Case | None:
    """The image prepared for the model and its prediction (kept per image and model, so a page change or a
    display change does not predict again); None, with the reason on the page, when the outputs are unusable."""
    source = chosen.source
    with phase("window, resize, preprocess"):
        image, inputs = source.prepare(picked.loaded.values, window)
    with phase("predict"):
        outputs = session_cache("predictions").get_or_compute(
            (content_key(inputs), source.name), lambda: explainers.predict(chosen.model, inputs[None])[0]
        )
    if not np.isfinite(outputs).all():
        st.error(
            "The model's outputs for this image are NaN or infinite, so there is nothing to explain. "
            "Check the preprocessing (a wrong scale can overflow) or the model file.",
            icon=":material/error:",
        )
        return None
    prediction = Prediction(
        explainers.output_kind(chosen.model),
        outputs,
        explainers.probabilities(chosen.model, outputs),
        source.class_names(),
    )
    return Case(chosen, picked, window, image, inputs, prediction)


def choices_ui() -> tuple[ChosenModel | None, PickedImage | None, imaging.Window | None]:
    """The sidebar's model and image sections, as every page that explains an image draws them (drawn even
    without a usable model, so that they keep their values)."""
    chosen = model_ui()
    picked = image_ui(chosen.source.sample_kind if chosen else "photo")
    window = intensity_ui(picked.loaded) if picked else None
    return chosen, picked, window


def case_ui(chosen: ChosenModel | None, picked: PickedImage | None, window: imaging.Window | None) -> Case | None:
    """The image through the model, or None with what is missing said on the page (or in the sidebar)."""
    if chosen is None:
        st.info("Choose a model in the sidebar: the sidebar says what is missing.")
        return None
    if picked is None:
        return None
    return case_for(chosen, picked, window)
