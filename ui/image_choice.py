"""The sidebar's image section, shared by the pages: a bundled sample or an upload, and its intensity window.

The decoded upload is kept in the session (in memory, never on disk), so it outlives a page change, which
empties the file uploader; the other choices are kept by ``ui.kept``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import streamlit as st

import imaging
from ui.cache import content_key
from ui.kept import first_value
from ui.profile import phase

_LAST_GOOD_IMAGE = "last_good_image"
_UPLOADED_IMAGE = "_uploaded_image"


@dataclass(frozen=True)
class PickedImage:
    loaded: imaging.LoadedImage
    title: str
    data: bytes | None = None
    """A multi-frame upload's bytes, kept in memory so that another frame can be decoded."""


def _frame_key(data: bytes) -> str:
    return f"frame_{hashlib.sha256(data).hexdigest()[:12]}"


def _upload_decoded(data: bytes, name: str) -> PickedImage:
    """The upload decoded; of a multi-frame DICOM file the frame picked in the sidebar, decoded alone.

    Raises ``imaging.ImageError`` with the reason when it cannot be used.
    """
    key = _frame_key(data)
    with phase("decode"):
        loaded = imaging.load_image(data, frame=int(st.session_state.get(key, 1)) - 1)
    if loaded.frames == 1:
        return PickedImage(loaded, name)
    st.sidebar.number_input(
        f"Frame (1 to {loaded.frames})",
        min_value=1,
        max_value=loaded.frames,
        step=1,
        key=key,
        help="A multi-frame file: each frame is decoded alone when you pick it.",
    )
    return PickedImage(loaded, name, data)


def image_ui(sample_kind: str) -> PickedImage | None:
    """A bundled sample that suits the model, or an upload. Until a good upload arrives, the last good image
    (and so its maps) stays on screen."""
    choice = st.sidebar.radio("Image", ["Sample", "Upload"], horizontal=True, key="image_source")
    # Always one element, empty or not, so that everything under it keeps its place on the page from run to run:
    # the browser then replaces the previous image's maps as the new ones come, rather than keeping both.
    notice = st.empty()
    if choice == "Sample":
        kind = sample_kind
        names = imaging.samples_for(kind)
        name = st.sidebar.selectbox(
            "Sample image", names, format_func=lambda n: imaging.SAMPLES[n].label, key=f"sample_{kind}"
        )
        st.sidebar.caption(f"Source: {imaging.SAMPLES[name].credit}")
        picked = PickedImage(imaging.load_sample(name), imaging.SAMPLES[name].label)
    else:
        limit_mb = imaging.MAX_IMAGE_BYTES >> 20
        upload = st.sidebar.file_uploader(
            "Your image",
            type=None,  # DICOM files often have no extension: every file is read by its content
            key="upload",
            max_upload_size=limit_mb,
            help=f"{imaging.FORMATS_TEXT}; DICOM with or without the .dcm extension.",
        )
        kept: PickedImage | None = st.session_state.get(_UPLOADED_IMAGE)
        if upload is None and kept is not None:  # uploaded earlier, on this page or another
            st.sidebar.caption(f"Using {kept.title}, uploaded earlier; upload another image to replace it.")
            picked = kept if kept.data is None else _upload_decoded(kept.data, kept.title)
        elif upload is None:
            with notice.container():
                st.info(
                    f"Upload a {imaging.FORMATS_TEXT} image (up to {limit_mb} MB) in the sidebar, or pick a sample."
                )
                return _previous_image()
        else:
            try:
                picked = _upload_decoded(upload.getvalue(), upload.name)
            except imaging.ImageError as error:
                with notice.container():
                    st.error(f"**{upload.name}** cannot be used. {error}", icon=":material/broken_image:")
                    return _previous_image()
            for note in picked.loaded.notes:
                st.sidebar.caption(f"Note: {note}.")
            st.session_state[_UPLOADED_IMAGE] = picked
    st.session_state[_LAST_GOOD_IMAGE] = picked
    return picked


def use_image(data: bytes, title: str) -> None:
    """Make ``data`` the session's image, as if uploaded (another page hands an image over to this one). Call it
    from a widget's callback: it sets the image radio, which a page may already have drawn."""
    st.session_state[_UPLOADED_IMAGE] = PickedImage(imaging.load_image(data), title)
    st.session_state["image_source"] = "Upload"


def _previous_image() -> PickedImage | None:
    previous: PickedImage | None = st.session_state.get(_LAST_GOOD_IMAGE)
    if previous is not None:
        st.caption(f"Still showing the previous image, {previous.title}.")
    return previous


INTENSITY_MODES = {
    "full": "As stored (8-bit) or full range (deeper)",
    "percentile": "Percentile clip",
    "window": "Window / level",
}


def intensity_ui(loaded: imaging.LoadedImage) -> imaging.Window:
    """How stored values become 0..255: offered for grayscale and deeper-than-8-bit images.

    Widget keys carry the image's id, so a new image starts from its own range.
    """
    if not loaded.grayscale and loaded.bit_depth == 8:
        return loaded.default_window
    image_id = content_key(loaded.values)[:12]
    full = imaging.full_range(loaded.values)
    with st.sidebar.expander("Intensity window", expanded=loaded.bit_depth > 8):
        st.caption(f"{loaded.bit_depth}-bit values {full.low:g}..{full.high:g}; the window maps to 0..255.")
        # The file's own windows (a DICOM file's WindowCenter/Width) come first; the first is the default.
        presets = {f"preset_{index}": preset for index, preset in enumerate(loaded.window_presets)}
        modes = {key: f"{label}: {window.low:g}..{window.high:g}" for key, (label, window) in presets.items()}
        modes |= INTENSITY_MODES
        mode = st.radio("Map", list(modes), format_func=modes.get, key=f"intensity_{image_id}")
        if mode in presets:
            return presets[mode][1]
        if mode == "full":
            return imaging.Window(0.0, 255.0) if loaded.bit_depth == 8 else full
        if mode == "percentile":
            key = f"percentiles_{image_id}"
            low, high = st.slider(
                "Keep percentiles", 0.0, 100.0, step=0.5, key=key, **first_value(key, value=imaging.DEFAULT_PERCENTILES)
            )
            low = min(low, 99.5)
            return imaging.percentile_window(loaded.values, (low, max(high, low + 0.5)))
        step = max(full.width / 1000, 1.0 if loaded.bit_depth <= 16 else 1e-6)
        level_key, width_key = f"level_{image_id}", f"width_{image_id}"
        level = st.number_input("Level (centre)", step=step, key=level_key, **first_value(level_key, value=full.level))
        width = st.number_input(
            "Width", min_value=step, step=step, key=width_key, **first_value(width_key, value=full.width)
        )
        return imaging.Window.from_level(level, width)
