"""An attribution map's colour bar as the pages draw it (the overlay itself is ``imaging.overlay_png``).

The overlay is a small PNG blended with a colour table (no Matplotlib on the way), and the colour bar is a
CSS gradient with the scale's values, so a display change redraws every map in milliseconds.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

import imaging


def colour_bar_ui(attribution: np.ndarray, signed: bool, display: imaging.Display) -> None:
    """The map's colour scale: the colours of the overlay and the values they stand for."""
    bar = imaging.colour_bar(attribution, signed, display.colormap, display.normalisation)
    st.markdown(imaging.colour_bar_html(bar), unsafe_allow_html=True)
