"""Compare page: one image, one model, several attribution maps side by side."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
import streamlit as st

import explainers
import imaging
from ui import preload
from ui.cache import content_key, map_key, session_cache
from ui.kept import keep_across_pages
from ui.link import restore_from_link, write_link
from ui.map_view import colour_bar_ui
from ui.method_choice import display_ui, methods_ui, seed_ui
from ui.places import Place
from ui.prediction import Case, case_ui, choices_ui, prediction_ui
from ui.profile import phase, record
from ui.report import ShownView, take_away_ui
from ui.trust import ShownMap, Subject, Thumbnails, trust_ui

MAPS_PER_ROW = 4
# Each bar update is a message for which the browser re-renders the page, on the same cores the maps compute on
# (bench/click_to_maps.py prints the browser's CPU per upload): one a second is enough for a bar.
PROGRESS_INTERVAL_S = 1.0


@dataclass(frozen=True)
class MapSlot:
    picture: Place
    trust: Place
    """Filled by the Trust section once it knows what has been measured about the map."""


def map_slots(methods: list[str], cleared: set[str]) -> dict[str, MapSlot]:
    """Two places per method (the map, then its trust), in rows of equal-width columns; the ``cleared``
    methods' places are emptied now, the others are redrawn in place."""
    slots = {}
    for start in range(0, len(methods), MAPS_PER_ROW):
        row = methods[start : start + MAPS_PER_ROW]
        for method, column in zip(row, st.columns(MAPS_PER_ROW), strict=False):
            clear = method in cleared
            slots[method] = MapSlot(Place(column, clear=clear), Place(column, clear=clear))
    return slots


def map_picture(key: tuple, explanation: explainers.Explanation, image: np.ndarray, display: imaging.Display) -> bytes:
    """The map over the image as PNG bytes, kept per map and display setting."""
    with phase(f"render {explanation.method}"):
        return session_cache("pictures").get_or_compute(
            (key, display),
            partial(
                imaging.overlay_png,
                image,
                explanation.attribution,
                explanation.info.signed,
                display,
                explanation.segments,
            ),
        )


def bar_title(method: str) -> str:
    return f"**{explainers.METHODS[method].label}** ·"


def map_ui(
    place: Place,
    picture: bytes,
    explanation: explainers.Explanation,
    image: np.ndarray,
    class_name: str,
    confidence: str,
    display: imaging.Display,
) -> None:
    info = explanation.info
    caption = explainers.caption(explanation, class_name, confidence)
    with place.area():
        st.markdown(f"**{info.label}** · {class_name}")
        st.image(picture, caption=info.description, width="stretch", output_format="PNG")  # sent as drawn
        colour_bar_ui(explanation.attribution, info.signed, display)
        st.caption(caption)
        if not info.passes_randomization_check:
            st.warning(
                "Fails the model-randomisation sanity check (Adebayo et al., 2018): it looks much the "
                "same for a model with random weights.",
                icon=":material/warning:",
            )
        st.download_button(
            "Download PNG",
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
            file_name=f"{explanation.method}-{explanation.target}.png",
            mime="image/png",
            key=f"download_{explanation.method}",
            icon=":material/download:",
            on_click="ignore",
            help="The map with its colour bar and this caption, as one picture (drawn when you click).",
        )
        st.caption(f"Can mislead: {info.misleads_when}")


@st.fragment
def maps_ui(case: Case, target: int, methods: list[str], seed: int, update_link: Callable[[], None]) -> None:
    """Maps already computed for these settings appear at once; the rest appear as they finish; then how far
    to trust them. A fragment: a display change reruns this function only, not the page (and the address then
    carries the new display settings)."""
    display = display_ui()
    update_link()
    if not methods:
        st.info("Pick at least one method in the sidebar.")
        return
    model, source, layer = case.chosen.model, case.chosen.source, case.chosen.layer
    inputs, image, prediction = case.inputs, case.image, case.prediction
    class_name, confidence = prediction.names[target], prediction.confidence(target)
    results = session_cache("results")
    image_key = content_key(inputs)

    def key_of(method: str) -> tuple:
        return map_key(image_key, source.name, method, target, layer, seed)

    unavailable = {m: reason for m in methods if (reason := explainers.unavailable_reason(model, m, layer))}
    explanations = {m: results.get(key_of(m)) for m in methods if m not in unavailable}
    missing = [m for m, explanation in explanations.items() if explanation is None]
    pictures = {m: map_picture(key_of(m), e, image, display) for m, e in explanations.items() if e is not None}
    slots = map_slots(methods, cleared={*missing, *unavailable})
    for method, reason in unavailable.items():
        slots[method].picture.holder.warning(reason, icon=":material/block:")
    methods = list(explanations)
    # When maps must be computed, the previous image's trust section leaves the page at once rather than when the
    # run ends: it would read as this image's, and the browser would re-render it with every map drawn.
    below_maps = Place(st, clear=bool(missing))
    bars = {}
    for method in methods:
        if method in missing:
            # One element in the cleared place (see ui/places.py), replaced by the map when it is drawn.
            passes = explainers.estimated_passes(model, method, layer)
            bars[method] = slots[method].picture.holder.progress(
                0.0, text=f"{bar_title(method)} Waiting… (≈{passes} model passes)"
            )
        else:
            map_ui(
                slots[method].picture, pictures[method], explanations[method], image, class_name, confidence, display
            )

    shown_at: dict[str, float] = {}

    def report(method: str, done: int, total: int) -> None:
        # One update a second is enough for a bar: Integrated Gradients reports after every round of 3 points.
        now = time.monotonic()
        if done < total and now - shown_at.get(method, 0.0) < PROGRESS_INTERVAL_S:
            return
        shown_at[method] = now
        bars[method].progress(min(done / total, 1.0), text=f"{bar_title(method)} Computing… {done}/{total}")

    def show(explanation: explainers.Explanation) -> None:
        key = key_of(explanation.method)
        results.put(key, explanation)
        explanations[explanation.method] = explanation
        picture = map_picture(key, explanation, image, display)
        map_ui(slots[explanation.method].picture, picture, explanation, image, class_name, confidence, display)

    # A new visitor's first view was computed while the server started (ui.preload): taken, not computed again.
    for _, explanation in preload.landing_maps([key_of(m) for m in missing]):
        show(explanation)
        missing.remove(explanation.method)
    if missing and not explainers.is_warm(model, layer):
        with phase("trace the gradient function"), st.spinner("Compiling the model's gradients (once per model)…"):
            explainers.warm_up(model, layer)
    if missing:
        waited_since, cpu_since = time.time(), time.process_time()
        for explanation in explainers.explain_many(
            model,
            inputs,
            missing,
            target=target,
            layer=layer,
            baseline=source.black_image(),
            progress=report,
            seed=seed,
        ):
            record(f"explain {explanation.method}", waited_since, time.time(), time.process_time() - cpu_since)
            show(explanation)
            waited_since, cpu_since = time.time(), time.process_time()
    with below_maps.area():
        with phase("trust section"):
            measured = trust_ui(
                Subject(model, source.name, inputs, image_key, target, source.black_image(), seed),
                {m: ShownMap(key_of(m), explanation) for m, explanation in explanations.items()},
                {m: slots[m].trust for m in explanations},
                Thumbnails(image, display),
            )
        take_away_ui(ShownView(case, target, explanations, unavailable, display, measured))


def main() -> None:
    keep_across_pages()
    ignored = restore_from_link()
    st.title("Compare attribution methods")
    st.caption("Why did the model predict this class? Each map answers in its own way; read them together.")
    if ignored:
        st.warning(
            f"The link asked for {', '.join(ignored)}, which this app does not have.", icon=":material/link_off:"
        )
    choices = choices_ui()
    methods = methods_ui()  # drawn even without a usable model, so that they keep their values
    seed = seed_ui()
    case = case_ui(*choices)
    if case is None:
        return
    with phase("prediction chart"):
        target = prediction_ui(case.picked, case.image, case.prediction)
    uploaded = st.session_state.get("image_source") == "Upload"
    link = partial(write_link, case.chosen.source, uploaded, target, case.chosen.layer)
    maps_ui(case, target, methods, seed, link)


main()
