"""Model page: what the chosen model is, what it takes, what it outputs, and where the CAM layer sits."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import explainers
import models
from ui.kept import keep_across_pages
from ui.model_choice import ChosenModel, model_ui


def summary_ui(chosen: ChosenModel, layers: list[models.LayerInfo]) -> None:
    model, source = chosen.model, chosen.source
    st.markdown(f"**{source.label}** — {source.description}")
    names = source.class_names()
    kind = explainers.output_kind(model)
    height, width = source.input_size
    columns = st.columns(4)
    columns[0].metric("Parameters", f"{model.count_params():,}")
    columns[1].metric("Input", f"{height}x{width}x{source.channels}")
    columns[2].metric("Outputs", len(names) if kind != "binary" else "1 (binary)")
    columns[3].metric("Layers", len(layers))
    st.markdown(f"**Output:** {explainers.OUTPUT_KINDS[kind]}.")
    st.markdown(f"**Preprocessing:** {source.preprocessing}.")
    if chosen.preset_guess is not None:
        guess = chosen.preset_guess
        st.caption(f"Guessed {models.PRESETS[guess.preset].label} because {guess.reason}. Change it in the sidebar.")
    shown = ", ".join(names[:8]) + (f", … ({len(names)} in all)" if len(names) > 8 else "")
    st.markdown(f"**Classes:** {shown}")


def cam_layer_ui(chosen: ChosenModel, layers: list[models.LayerInfo]) -> None:
    if chosen.layer is None:
        st.warning("No layer has a spatial (4-D) output, so the CAM methods are unavailable for this model.")
        return
    position = next(i for i, info in enumerate(layers) if info.path == chosen.layer)
    info = layers[position]
    recommended = models.default_cam_layer(chosen.model)
    cell = chosen.source.input_size[0] // (info.output_shape[1] or 1)
    note = "the recommended layer" if info.path == recommended else f"the recommended one is {recommended}"
    st.markdown(
        f"**CAM layer:** `{info.path}` ({info.class_name}, output {info.shape_text}) in block "
        f"**{info.block}**, layer {position + 1} of {len(layers)}; {note}. Its {info.shape_text} map is "
        f"upsampled to the input, so each cell covers about {cell} pixels across."
    )


def layers_ui(chosen: ChosenModel, layers: list[models.LayerInfo]) -> None:
    st.subheader("Layers")
    blocks = list(dict.fromkeys(info.block for info in layers))
    left, right = st.columns([1, 2])
    block = left.selectbox("Block", ["All blocks", *blocks], key="model_block")
    search = right.text_input("Search layers", key="model_search", placeholder="name or type, e.g. conv, Dense")
    frame = pd.DataFrame(
        {
            "block": [info.block for info in layers],
            "layer": [info.path for info in layers],
            "type": [info.class_name for info in layers],
            "output shape": [info.shape_text for info in layers],
            "parameters": [info.parameters for info in layers],
            "CAM": [
                "★ chosen" if info.path == chosen.layer else "usable" if info.is_spatial else "" for info in layers
            ],
        }
    )
    if block != "All blocks":
        frame = frame[frame["block"] == block]
    if search:
        needle = search.lower()
        frame = frame[
            frame["layer"].str.lower().str.contains(needle, regex=False)
            | frame["type"].str.lower().str.contains(needle, regex=False)
        ]
    st.caption(f"{len(frame)} of {len(layers)} layers · {frame['parameters'].sum():,} parameters shown")
    st.dataframe(frame, hide_index=True, width="stretch", height=420)
    with st.expander("Parameters per block"):
        everything = pd.DataFrame({"block": [i.block for i in layers], "parameters": [i.parameters for i in layers]})
        per_block = everything.groupby("block", sort=False).agg(
            layers=("block", "size"), parameters=("parameters", "sum")
        )
        st.dataframe(per_block, width="stretch")


def main() -> None:
    keep_across_pages()
    st.title("Model")
    chosen = model_ui()
    if chosen is None:
        st.info("Choose a model in the sidebar: the sidebar says what is missing.")
        return
    layers = models.describe_layers(chosen.model)
    summary_ui(chosen, layers)
    cam_layer_ui(chosen, layers)
    layers_ui(chosen, layers)


main()
