"""Model sources, loading, preprocessing, layer listing and class names. No Streamlit import."""

from models.layers import LayerInfo, LayerNotFoundError, default_cam_layer, find_layer, spatial_layers
from models.registry import DEFAULT_MODEL, MODELS, ModelSource, get_source

__all__ = [
    "DEFAULT_MODEL",
    "MODELS",
    "LayerInfo",
    "LayerNotFoundError",
    "ModelSource",
    "default_cam_layer",
    "find_layer",
    "get_source",
    "spatial_layers",
]
