"""Two models side by side: one image, the same methods, each model's maps in its own row, aligned by method."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

import explainers
import imaging
import models
from ui.cache import content_key, map_key, session_cache
from ui.kept import first_value, keep_across_pages
from ui.method_choice import display_ui, methods_ui, seed_ui
from ui.model_choice import SECOND, UPLOAD, ChosenModel, model_ui
from ui.prediction import Case, case_for, case_ui, choices_ui, predictions_chart

MAPS_PER_ROW = 4
OWN, SHARED = "own", "shared"


@dataclass(frozen=True)
class Side:
    """One model's half of the comparison: its case, the class it explains, and its maps."""

    name: str
    case: Case
    target: int
    maps: dict[str, explainers.Explanation]
    unavailable: dict[str, str]


def default_second_model() -> str:
    """A model to compare with out of the box: the first Keras Applications model whose weights are here, else an
    upload (the clinical case: a new version of one's own model)."""
    ready = [
        name for name, source in models.MODELS.items() if source.group != "Bundled" and not source.unavailable_reason()
    ]
    return ready[0] if ready else UPLOAD


def second_model_ui() -> ChosenModel | None:
    st.sidebar.divider()
    if "second_model" not in st.session_state:
        st.session_state["second_model"] = default_second_model()
    return model_ui(SECOND)


def prediction_column_ui(column, label: str, case: Case) -> None:
    with column:
        st.markdown(f"**{label}** · {case.chosen.source.label}")
        left, right = st.columns([1, 2])
        picture = imaging.png_bytes(imaging.to_uint8(case.image))
        height, width = case.image.shape[:2]
        left.image(picture, caption=f"as this model sees it ({width}x{height})", width="stretch", output_format="PNG")
        right.altair_chart(predictions_chart(case.prediction), width="stretch")


def targets_ui(first: explainers.Prediction, second: explainers.Prediction) -> tuple[int, int]:
    """The class each model explains: its own top class, or one class name both models know when their label sets
    are the same (looked up by name, so two orders of the same labels work too)."""
    if set(first.names) != set(second.names):
        st.caption("The two models' classes differ, so each is explained for its own top class.")
        return first.ranked()[0], second.ranked()[0]
    mode = st.radio(
        "Explain",
        [OWN, SHARED],
        format_func={OWN: "each model's own top class", SHARED: "one class for both"}.get,
        horizontal=True,
        key="two_models_target",
    )
    if mode == OWN:
        return first.ranked()[0], second.ranked()[0]
    tops = [first.names[i] for i in first.ranked()[:5]] + [second.names[i] for i in second.ranked()[:5]]
    ranked = list(dict.fromkeys(tops))
    names = ranked + sorted(set(first.names) - set(ranked), key=str.lower)
    name = st.selectbox(
        "Class for both",
        names,
        key="shared_class",
        **first_value("shared_class", index=0),
        format_func=lambda n: (
            f"{n} · {first.confidence(first.names.index(n))} | {second.confidence(second.names.index(n))}"
        ),
        help="Both models' top five first (their confidences: first model | second model), then every class by name.",
    )
    return first.names.index(name), second.names.index(name)


def computed_maps(case: Case, target: int, methods: list[str], seed: int, label: str) -> Side:
    """The model's maps for ``target``, from the session's results when computed before (on either page)."""
    chosen = case.chosen
    results, image_key = session_cache("results"), content_key(case.inputs)
    unavailable = {
        m: reason for m in methods if (reason := explainers.unavailable_reason(chosen.model, m, chosen.layer))
    }
    wanted = [m for m in methods if m not in unavailable]
    keys = {m: map_key(image_key, chosen.source.name, m, target, chosen.layer, seed) for m in wanted}
    maps = {m: results.get(keys[m]) for m in wanted}
    missing = [m for m, explanation in maps.items() if explanation is None]
    if missing:
        bar = st.progress(0.0, text=f"{label}: computing {len(missing)} map(s)…")
        explained = explainers.explain_many(
            chosen.model,
            case.inputs,
            missing,
            target=target,
            layer=chosen.layer,
            baseline=chosen.source.black_image(),
            seed=seed,
        )
        for count, explanation in enumerate(explained, start=1):
            results.put(keys[explanation.method], explanation)
            maps[explanation.method] = explanation
            bar.progress(count / len(missing), text=f"{label}: {count}/{len(missing)} maps")
        bar.empty()
    return Side(label, case, target, {m: maps[m] for m in wanted}, unavailable)


def shared_scale(method: str, first: Side, second: Side, display: imaging.Display) -> float | None:
    """One colour scale for both maps where the method's units are the same for both models (probabilities, or
    the same kind of score); None where each map must keep its own."""
    a, b = first.maps.get(method), second.maps.get(method)
    if a is None or b is None or a.info.units == "relative":
        return None
    if a.info.units == "score" and a.score_kind != b.score_kind:
        return None
    return max(imaging.display_scale(e.attribution, display.normalisation) for e in (a, b))


def map_cell_ui(side: Side, method: str, display: imaging.Display, scale: float | None) -> None:
    info = explainers.METHODS[method]
    if method in side.unavailable:
        st.warning(side.unavailable[method], icon=":material/block:")
        return
    explanation = side.maps[method]
    prediction = side.case.prediction
    class_name = prediction.names[explanation.target]
    st.markdown(f"**{info.label}** · {class_name}")
    picture = imaging.overlay_png(
        side.case.image, explanation.attribution, info.signed, display, explanation.segments, scale
    )
    st.image(picture, width="stretch", output_format="PNG")
    bar = imaging.colour_bar(explanation.attribution, info.signed, display.colormap, display.normalisation, scale=scale)
    st.markdown(imaging.colour_bar_html(bar), unsafe_allow_html=True)
    how = "shared scale" if scale is not None else "own scale"
    st.caption(f"{how} · " + explainers.caption(explanation, class_name, prediction.confidence(explanation.target)))


def rows_ui(first: Side, second: Side, methods: list[str], display: imaging.Display) -> None:
    """The maps in two rows per group of methods, the first model above the second, each method in one column."""
    for start in range(0, len(methods), MAPS_PER_ROW):
        group = methods[start : start + MAPS_PER_ROW]
        scales = {m: shared_scale(m, first, second, display) for m in group}
        for side in (first, second):
            st.markdown(f"###### {side.name} · {side.case.chosen.source.label}")
            for column, method in zip(st.columns(MAPS_PER_ROW), group, strict=False):
                with column:
                    map_cell_ui(side, method, display, scales[method])
    scales = {m: shared_scale(m, first, second, display) for m in methods}
    shared = [explainers.METHODS[m].label for m, scale in scales.items() if scale is not None]
    own = [explainers.METHODS[m].label for m, scale in scales.items() if scale is None]
    text = "Colour scales: "
    if shared:
        text += (
            f"**{', '.join(shared)}**: one scale for both models, as their values are in the same units "
            "(probabilities, or shares of the same kind of score). "
        )
    if own:
        text += (
            f"**{', '.join(own)}**: each map on its own scale, as their units are the model's input or a layer's "
            "activations (or two kinds of score), so only their patterns compare."
        )
    st.caption(text)


def main() -> None:
    keep_across_pages()
    st.title("Two models side by side")
    st.caption(
        "One image through two models: their predictions, then the same methods in two aligned rows. Do they look "
        "at the same evidence?"
    )
    first_choice, picked, window = choices_ui()
    second = second_model_ui()
    methods = methods_ui()
    seed = seed_ui()
    first = case_ui(first_choice, picked, window)
    if first is None:
        return
    if second is None:
        st.info("Choose a second model in the sidebar (a Keras Applications model, a bundled one, or your own file).")
        return
    second_case = case_for(second, picked, window)
    if second_case is None:
        return
    left, right = st.columns(2)
    prediction_column_ui(left, "First model", first)
    prediction_column_ui(right, "Second model", second_case)
    first_target, second_target = targets_ui(first.prediction, second_case.prediction)
    display = display_ui()
    if not methods:
        st.info("Pick at least one method in the sidebar.")
        return
    sides = (
        computed_maps(first, first_target, methods, seed, "First model"),
        computed_maps(second_case, second_target, methods, seed, "Second model"),
    )
    rows_ui(*sides, methods, display)


main()
