"""The sidebar's method choices and the maps' display settings, shared by the pages that draw maps."""

from __future__ import annotations

import streamlit as st

import explainers
import imaging
from ui.kept import first_value


def method_option(method: str) -> str:
    """How the picker names a method: its family, its name, its cost at the default settings."""
    info = explainers.METHODS[method]
    passes = "1 pass" if info.default_passes == 1 else f"≈{info.default_passes} passes"
    return f"{explainers.FAMILIES[info.family]} · {info.label} · {passes}"


def methods_ui() -> list[str]:
    return st.sidebar.multiselect(
        "Methods",
        explainers.methods_by_family(),
        format_func=method_option,
        key="methods",
        **first_value("methods", default=list(explainers.DEFAULT_METHODS)),
        help="Grouped by how they work: gradients of the score; reference methods that compare with a black "
        "image; class activation maps of a conv layer; relevance handed down the layers; perturbations that "
        "only run the model forward. A pass is one run of the model (forward and, for most, backward).",
    )


def seed_ui() -> int:
    return int(
        st.sidebar.number_input(
            "Random seed",
            min_value=0,
            step=1,
            key="seed",
            **first_value("seed", value=explainers.DEFAULT_SEED),
            help="Changes the noise of the sampling methods (SmoothGrad, SmoothGrad-squared, VarGrad) and the random "
            "draws of the trust checks. A map that changes a lot with the seed is mostly sampling noise.",
        )
    )


def display_ui() -> imaging.Display:
    """How the maps are drawn, next to them: changing it redraws only the maps (they are a fragment)."""
    with st.popover("Display", icon=":material/palette:"):
        colormap = st.radio(  # one click, no drop-down to open and close
            "Colormap (unsigned maps)",
            imaging.COLORMAPS,
            horizontal=True,
            key="colormap",
            help="Perceptually uniform. Signed maps always use blue-white-red centred at zero.",
        )
        opacity = st.slider("Map opacity", 0.0, 1.0, step=0.05, key="opacity", **first_value("opacity", value=0.5))
        normalisation = st.radio(
            "Normalise", list(imaging.NORMALISATIONS), key="normalisation", format_func=imaging.NORMALISATIONS.get
        )
        outlines = st.toggle(
            "Superpixel outlines",
            key="outlines",
            **first_value("outlines", value=True),
            help="LIME and Kernel SHAP give each superpixel one value: the outlines show the segments they used.",
        )
    return imaging.Display(colormap, opacity, normalisation, outlines)
