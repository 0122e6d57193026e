"""Reading images, the bundled sample gallery, and drawing attribution maps. No Streamlit import."""

from imaging.intensity import DEFAULT_PERCENTILES, Window, apply_window, full_range, percentile_window
from imaging.io import (
    FORMATS_TEXT,
    IMAGE_EXTENSIONS,
    MAX_IMAGE_BYTES,
    MAX_PIXELS,
    ImageError,
    LoadedImage,
    check_image_size,
    load_image,
    resize_for_model,
)
from imaging.render import (
    COLORMAPS,
    NORMALISATIONS,
    ColourBar,
    colour_bar,
    map_figure_png,
    map_overlay,
    normalise,
    outlined,
    overlay_rgb,
    png_bytes,
)
from imaging.samples import SAMPLES, Sample, load_sample, samples_for

__all__ = [
    "COLORMAPS",
    "DEFAULT_PERCENTILES",
    "FORMATS_TEXT",
    "IMAGE_EXTENSIONS",
    "MAX_IMAGE_BYTES",
    "MAX_PIXELS",
    "NORMALISATIONS",
    "SAMPLES",
    "ColourBar",
    "ImageError",
    "LoadedImage",
    "Sample",
    "Window",
    "apply_window",
    "check_image_size",
    "colour_bar",
    "full_range",
    "load_image",
    "load_sample",
    "map_figure_png",
    "map_overlay",
    "normalise",
    "outlined",
    "overlay_rgb",
    "percentile_window",
    "png_bytes",
    "resize_for_model",
    "samples_for",
]
