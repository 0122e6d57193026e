"""Compare page: one image, one model, several attribution maps side by side."""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import partial

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

import explainers
import imaging
import models
from ui.cache import content_key, load_model, session_cache

UPLOAD_TYPES = ["png", "jpg", "jpeg", "bmp", "tif", "tiff", "webp"]
MAPS_PER_ROW = 4


@dataclass(frozen=True)
class Display:
    colormap: str
    opacity: float
    normalisation: str


@dataclass(frozen=True)
class PickedImage:
    pixels: np.ndarray
    title: str


def model_ui() -> models.ModelSource:
    name = st.sidebar.selectbox("Model", list(models.MODELS), format_func=lambda n: models.MODELS[n].label, key="model")
    return models.get_source(name)


def image_ui(model_source: models.ModelSource) -> PickedImage | None:
    """A bundled sample that suits the model, or an upload. A bad upload keeps the last good image on screen."""
    source = st.sidebar.radio("Image", ["Sample", "Upload"], horizontal=True, key="image_source")
    if source == "Sample":
        kind = model_source.sample_kind
        names = [name for name, sample in imaging.SAMPLES.items() if sample.kind == kind]
        name = st.sidebar.selectbox(
            "Sample image", names, format_func=lambda n: imaging.SAMPLES[n].label, key=f"sample_{kind}"
        )
        st.sidebar.caption(f"Source: {imaging.SAMPLES[name].credit}")
        picked = PickedImage(imaging.load_sample(name).pixels, imaging.SAMPLES[name].label)
    else:
        upload = st.sidebar.file_uploader("Your image", type=UPLOAD_TYPES, key="upload")
        if upload is None:
            st.info("Upload a PNG, JPEG, BMP, TIFF or WebP image in the sidebar, or pick a sample.")
            return None
        try:
            loaded = imaging.load_image(upload.getvalue())
        except imaging.ImageError as error:
            st.error(f"**{upload.name}** cannot be used. {error}", icon=":material/broken_image:")
            previous = st.session_state.get("last_good_image")
            if previous is not None:
                st.caption(f"Still showing the previous image, {previous.title}.")
            return previous
        for note in loaded.notes:
            st.sidebar.caption(f"Note: {note}.")
        picked = PickedImage(loaded.pixels, upload.name)
    st.session_state["last_good_image"] = picked
    return picked


def methods_ui() -> list[str]:
    return st.sidebar.multiselect(
        "Methods",
        list(explainers.METHODS),
        default=list(explainers.DEFAULT_METHODS),
        format_func=lambda m: explainers.METHODS[m].label,
        key="methods",
    )


def layer_ui(model) -> str | None:
    layers = models.spatial_layers(model)
    if not layers:
        st.sidebar.warning("This model has no layer with a spatial output, so Grad-CAM is unavailable.")
        return None
    default = len(layers) - 1

    def describe(index: int) -> str:
        info = layers[index]
        shape = "x".join(str(d) for d in info.output_shape[1:])
        return f"{info.path} · {shape}" + (" (default)" if index == default else "")

    index = st.sidebar.selectbox(
        "Layer for Grad-CAM",
        range(len(layers)),
        index=default,
        format_func=describe,
        key="layer",
        help="The last spatial layer is the usual choice: the most semantic, at the coarsest resolution.",
    )
    return layers[index].path


def display_ui() -> Display:
    with st.sidebar.expander("Display", expanded=False):
        colormap = st.selectbox(
            "Colormap (unsigned maps)",
            imaging.COLORMAPS,
            key="colormap",
            help="Perceptually uniform. Signed maps always use blue-white-red centred at zero.",
        )
        opacity = st.slider("Map opacity", 0.0, 1.0, 0.5, 0.05, key="opacity")
        normalisation = st.radio(
            "Normalise", list(imaging.NORMALISATIONS), key="normalisation", format_func=imaging.NORMALISATIONS.get
        )
    return Display(colormap, opacity, normalisation)


def predictions_chart(probabilities: np.ndarray, names: tuple[str, ...]) -> alt.Chart:
    top = np.argsort(probabilities)[::-1][:5]
    frame = pd.DataFrame({"class": [names[i] for i in top], "probability": probabilities[top].astype(float)})
    bars = (
        alt.Chart(frame)
        .mark_bar(color="#4c78a8")
        .encode(
            x=alt.X("probability:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%", title="probability")),
            y=alt.Y("class:N", sort="-x", title=None, axis=alt.Axis(labelLimit=220, labelOverlap=False)),
            tooltip=["class", alt.Tooltip("probability:Q", format=".1%")],
        )
    )
    labels = bars.mark_text(align="left", dx=3).encode(text=alt.Text("probability:Q", format=".1%"))
    return (bars + labels).properties(height=200, title="Top-5 predictions")


def target_ui(probabilities: np.ndarray, names: tuple[str, ...]) -> int:
    """The class to explain: the top five first, then every other class by name (type to search)."""
    top = [int(i) for i in np.argsort(probabilities)[::-1][:5]]
    rest = sorted((i for i in range(len(names)) if i not in top), key=lambda i: names[i].lower())
    return st.selectbox(
        "Explain class", top + rest, key="target", format_func=lambda i: f"{names[i]} · {probabilities[i]:.1%}"
    )


def prediction_ui(picked: PickedImage, image: np.ndarray, probabilities: np.ndarray, names: tuple[str, ...]) -> int:
    left, right = st.columns([1, 2])
    left.image(image.astype(np.uint8), caption=f"{picked.title}, as the model sees it", width="stretch")
    with right:
        st.altair_chart(predictions_chart(probabilities, names), width="stretch")
        return target_ui(probabilities, names)


def caption_for(explanation: explainers.Explanation, class_name: str, probability: float) -> str:
    explained = "its logit" if explanation.score_kind == "logit" else "the model output"
    parts = [
        f"{class_name} ({probability:.1%}), {explained}",
        f"{explanation.elapsed_s:.2f} s, {explanation.passes} passes",
    ]
    if explanation.layer:
        parts.append(f"layer {explanation.layer}")
    if explanation.completeness_relative is not None:
        parts.append(
            f"completeness error {explanation.completeness_relative:.1%} ({explanation.options.get('steps')} steps)"
        )
    return " · ".join(parts)


def map_slots(methods: list[str]) -> dict[str, st.delta_generator.DeltaGenerator]:
    """One placeholder per method, in rows of equal-width columns."""
    slots = {}
    for start in range(0, len(methods), MAPS_PER_ROW):
        row = methods[start : start + MAPS_PER_ROW]
        for method, column in zip(row, st.columns(MAPS_PER_ROW), strict=False):
            slots[method] = column.empty()
    return slots


def map_ui(
    slot,
    key: tuple,
    explanation: explainers.Explanation,
    image: np.ndarray,
    class_name: str,
    probability: float,
    display: Display,
) -> None:
    info = explanation.info
    caption = caption_for(explanation, class_name, probability)
    picture = session_cache("pictures").get_or_compute(
        (key, display),
        partial(
            imaging.map_figure_png,
            image,
            explanation.attribution,
            signed=info.signed,
            title=f"{info.label} · {class_name}",
            caption=caption,
            colormap=display.colormap,
            opacity=display.opacity,
            normalisation=display.normalisation,
        ),
    )
    with slot.container():
        st.image(picture, caption=info.description, width="stretch")
        if not info.passes_randomization_check:
            st.warning(
                "Fails the model-randomisation sanity check (Adebayo et al., 2018): it looks much the "
                "same for a model with random weights.",
                icon=":material/warning:",
            )
        st.download_button(
            "Download PNG",
            picture,
            file_name=f"{explanation.method}-{explanation.target}.png",
            mime="image/png",
            key=f"download_{explanation.method}",
            icon=":material/download:",
        )
        st.caption(f"Can mislead: {info.misleads_when}")


def maps_ui(
    model,
    source: models.ModelSource,
    inputs: np.ndarray,
    image: np.ndarray,
    target: int,
    layer: str | None,
    methods: list[str],
    display: Display,
    probabilities: np.ndarray,
) -> None:
    """Maps already computed for these settings appear at once; the rest appear as they finish."""
    if not methods:
        st.info("Pick at least one method in the sidebar.")
        return
    class_name, probability = source.class_names()[target], float(probabilities[target])
    results = session_cache("results")
    image_key = content_key(inputs)
    slots = map_slots(methods)
    if layer is None:
        for method in [m for m in methods if explainers.METHODS[m].needs_conv_layer]:
            slots[method].warning(f"{explainers.METHODS[method].label} needs a conv layer; this model has none.")
            methods = [m for m in methods if m != method]

    def key_of(method: str) -> tuple:
        return (image_key, source.name, method, target, layer if explainers.METHODS[method].needs_conv_layer else None)

    explanations = {m: results.get(key_of(m)) for m in methods}
    missing = [m for m, explanation in explanations.items() if explanation is None]
    bars = {}
    for method in methods:
        if method in missing:
            with slots[method].container():
                st.markdown(f"**{explainers.METHODS[method].label}**")
                passes = explainers.estimated_passes(model, method, layer)
                bars[method] = st.progress(0.0, text=f"Waiting… (≈{passes} model passes)")
        else:
            map_ui(slots[method], key_of(method), explanations[method], image, class_name, probability, display)

    def report(method: str, done: int, total: int) -> None:
        bars[method].progress(min(done / total, 1.0), text=f"Computing… {done}/{total}")

    if missing:
        for explanation in explainers.explain_many(
            model, inputs, missing, target=target, layer=layer, baseline=source.black_image(), progress=report
        ):
            key = key_of(explanation.method)
            results.put(key, explanation)
            explanations[explanation.method] = explanation
            map_ui(slots[explanation.method], key, explanation, image, class_name, probability, display)
    st.download_button(
        "Download raw maps (.npz)",
        _npz(explanations),
        file_name=f"maps-{target}.npz",
        mime="application/octet-stream",
        key="download_npz",
        icon=":material/download:",
    )


def _npz(explanations: dict[str, explainers.Explanation]) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **{method: e.attribution for method, e in explanations.items()})
    return buffer.getvalue()


def main() -> None:
    st.title("Compare attribution methods")
    st.caption("Why did the model predict this class? Each map answers in its own way; read them together.")
    source = model_ui()
    picked = image_ui(source)
    methods = methods_ui()
    with st.spinner(f"Loading {source.label}… (the first start converts its weights)"):
        model = load_model(source.name)
    layer = layer_ui(model)
    display = display_ui()
    if picked is None:
        return
    image = imaging.resize_for_model(picked.pixels, source.input_size)
    inputs = source.preprocess(image)
    probabilities = explainers.predict(model, inputs[None])[0]
    target = prediction_ui(picked, image, probabilities, source.class_names())
    maps_ui(model, source, inputs, image, target, layer, methods, display, probabilities)


main()
