"""The sidebar's model section, drawn by every page: pick or upload a model, its preprocessing,
class names and CAM layer.

Each page draws this section; its choices outlive a page change (``ui.kept``), and an uploaded model and its
class names are kept in the session rather than in the file uploaders.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import keras
import streamlit as st

import explainers
import models
from ui.cache import load_model
from ui.kept import first_value
from ui.link import LINK_LAYER, link_choice
from ui.trained import TRAINED, trained_epoch_ui, trained_run, trained_source

UPLOAD = "upload"
MAIN, SECOND = "", "second_"
"""Key prefixes of the sidebar's model choices: every page's, and the two-models page's second one."""
_UPLOADED = "_uploaded_model"
_CLASS_NAMES = "_class_names_by_model"


_DEVICE_HELP = (
    "The same code runs on a GPU when TensorFlow sees one. scripts/start.sh installs TensorFlow's CUDA build "
    "when `nvidia-smi` finds an NVIDIA GPU (or with EXPLORER_GPU=1)."
)


@dataclass(frozen=True)
class ChosenModel:
    source: models.ModelSource
    model: keras.Model
    layer: str | None
    """The layer the CAM methods use, or None when the model has no spatial layer."""
    preset_guess: models.PresetGuess | None = None
    """For an uploaded model: the preprocessing the app guessed, and why."""


def _model_label(name: str) -> str:
    if name == UPLOAD:
        return "Your own model (.keras or .h5)…"
    if name == TRAINED:
        return "Your CNN trained here (Fashion-MNIST)"
    source = models.MODELS[name]
    return source.label + (" — weights not on this machine" if source.unavailable_reason() else "")


def _uploaded_file(data: bytes, filename: str, slot: str) -> models.ModelFile:
    """The uploaded model, checked and traced once, then kept for this session only (one per slot)."""
    kept: models.ModelFile | None = st.session_state.get(_UPLOADED + slot)
    if kept is not None and kept.digest == hashlib.sha256(data).hexdigest():
        return kept
    file = models.load_model_file(data, filename)
    models.uploaded_source(file, "raw")  # refuses anything but one image input and one class output
    explainers.warm_up(file.model)
    st.session_state[_UPLOADED + slot] = file
    return file


def preprocessing_ui(digest: str, guess: models.PresetGuess) -> str:
    """The preset for this model: the guess until the user picks another, remembered per model file (the
    widget is keyed by the file's digest and its value kept across pages, ``ui.kept``)."""
    presets, key = list(models.PRESETS), f"preprocessing_{digest[:12]}"
    preset = st.sidebar.selectbox(
        "Preprocessing",
        presets,
        format_func=lambda name: models.PRESETS[name].label + (" (guess)" if name == guess.preset else ""),
        key=key,
        **first_value(key, index=presets.index(guess.preset)),
        help="How pixels were scaled when the model was trained. A wrong choice gives confident nonsense.",
    )
    st.sidebar.caption(f"Guessed {models.PRESETS[guess.preset].label}: {guess.reason}.")
    return preset


def class_names_ui(digest: str, outputs: int, slot: str = "") -> tuple[str, ...] | None:
    """Names from an uploaded JSON or TXT file, kept for this model; None means "class 0..N-1"."""
    kept: dict[str, tuple[str, ...]] = st.session_state.setdefault(_CLASS_NAMES, {})
    upload = st.sidebar.file_uploader(
        "Class names (optional)",
        type=["json", "txt"],
        key=f"{slot}class_names_upload",
        max_upload_size=models.MAX_CLASS_NAMES_BYTES >> 20,
        help='A JSON list ["cat", "dog"], a JSON object {"0": "cat"}, or a text file with one name per line.',
    )
    if upload is not None:
        try:
            kept[digest] = models.check_class_count(models.parse_class_names(upload.getvalue(), upload.name), outputs)
        except models.ClassNamesError as error:
            st.sidebar.error(f"**{upload.name}**: {error}", icon=":material/error:")
    names = kept.get(digest)
    if names is None:
        st.sidebar.caption(f"Classes are named class 0..{outputs - 1} until you upload their names.")
    elif upload is None:
        st.sidebar.caption(f"Using the {len(names)} class names uploaded earlier for this model.")
    return names


def uploaded_model_ui(slot: str = "") -> tuple[models.ModelSource, models.PresetGuess] | None:
    """The user's model file; a file that cannot be used leaves the previously uploaded model in place."""
    upload = st.sidebar.file_uploader(
        "Model file",
        type=[extension.lstrip(".") for extension in models.MODEL_EXTENSIONS],
        key=f"{slot}model_upload",
        max_upload_size=models.MAX_MODEL_BYTES >> 20,
    )
    file: models.ModelFile | None = st.session_state.get(_UPLOADED + slot)
    if upload is not None:
        try:
            with st.spinner(f"Loading {upload.name}…"):
                file = _uploaded_file(upload.getvalue(), upload.name, slot)
        except models.ModelFileError as error:
            st.sidebar.error(f"**{upload.name}** cannot be used. {error}", icon=":material/error:")
            if file is None:
                return None
            st.sidebar.caption(f"Still using {file.filename}.")
    elif file is not None:
        st.sidebar.caption(f"Using {file.filename}, uploaded earlier; upload another file to replace it.")
    else:
        st.sidebar.info("Upload a whole model saved by Keras (`model.save(...)`). It is loaded in safe mode.")
        return None
    guess = models.guess_preset(file.model)
    preset = preprocessing_ui(file.digest, guess)
    names = class_names_ui(file.digest, file.output_count, slot)
    return models.uploaded_source(file, preset, names), guess


def layer_ui(model: keras.Model, model_name: str, slot: str = "") -> str | None:
    """The CAM layer, from every 4-D layer grouped by block; the recommended one marked and preselected."""
    layers = models.spatial_layers(model)
    if not layers:
        st.sidebar.warning("This model has no layer with a spatial output, so the CAM methods are unavailable.")
        return None
    recommended = models.default_cam_layer(model)
    paths = [info.path for info in layers]
    by_path = {info.path: info for info in layers}

    def describe(path: str) -> str:
        info = by_path[path]
        mark = " ★ recommended" if path == recommended else ""
        return f"{info.block} › {info.name} · {info.shape_text}{mark}"

    key = f"{slot}layer_{model_name}"
    from_link = link_choice(LINK_LAYER, paths) if slot == MAIN else {}  # a link describes the main model
    return st.sidebar.selectbox(
        "Layer for CAM methods",
        paths,
        format_func=describe,
        key=key,
        **first_value(key, **({"index": paths.index(recommended)} | from_link)),
        help="★ marks the last layer with a spatial map: the most semantic, at the coarsest resolution. "
        "Earlier layers give finer but less class-specific maps. Type to search.",
    )


def download_ui(source: models.ModelSource, slot: str = "") -> None:
    """A button that fetches the missing weights, for a machine that is online."""
    if source.download is None:
        return
    if st.sidebar.button("Download the weights (needs internet)", key=f"download_{slot}{source.name}"):
        try:
            with st.spinner(f"Downloading the weights of {source.label}…"):
                source.download()
        except models.WeightsUnavailableError as error:
            st.sidebar.error(str(error), icon=":material/cloud_off:")
        else:
            st.rerun()


def model_ui(slot: str = MAIN) -> ChosenModel | None:
    """The sidebar's model section; None until a usable model is chosen (the sidebar says why).

    ``slot`` names a second, independent choice (``SECOND``: the two-models page), with its own keys and upload.
    """
    run = trained_run()
    names = [*models.MODELS, UPLOAD] + ([TRAINED] if run is not None else [])
    key = f"{slot}model"
    if st.session_state.get(key) not in names:
        st.session_state.pop(key, None)  # e.g. a trained model whose run is gone: the default again
    label = "Model" if slot == MAIN else "Second model"
    name = st.sidebar.selectbox(label, names, format_func=_model_label, key=key, **first_value(key, index=0))
    if slot == MAIN:
        st.sidebar.caption(f"Computing on {explainers.compute_device()}", help=_DEVICE_HELP)
    guess = None
    if name == TRAINED:
        source = trained_source(run, trained_epoch_ui(run))
        model = source.load()
    elif name == UPLOAD:
        uploaded = uploaded_model_ui(slot)
        if uploaded is None:
            return None
        source, guess = uploaded
        model = source.load()
    else:
        source = models.get_source(name)
        reason = source.unavailable_reason()
        if reason:
            st.sidebar.warning(f"{source.label} is unavailable: {reason}", icon=":material/cloud_off:")
            download_ui(source, slot)
            return None
        with st.spinner(f"Loading {source.label}… (the first start converts its weights)"):
            model = load_model(source.name)
    return ChosenModel(source, model, layer_ui(model, source.name, slot), guess)
