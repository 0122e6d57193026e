"""Model sources, loading, preprocessing, layer listing and class names. No Streamlit import."""

from models.class_names import (
    MAX_CLASS_NAMES_BYTES,
    ClassNamesError,
    check_class_count,
    numbered_class_names,
    parse_class_names,
)
from models.keras_applications import APPLICATIONS, WeightsUnavailableError
from models.layers import LayerInfo, LayerNotFoundError, default_cam_layer, describe_layers, find_layer, spatial_layers
from models.preprocessing import PRESETS, Preset, PresetGuess, guess_preset
from models.registry import DEFAULT_MODEL, MODELS, ModelSource, get_source, trained_source, uploaded_source
from models.uploaded import (
    MAX_MODEL_BYTES,
    MODEL_EXTENSIONS,
    ModelFile,
    ModelFileError,
    check_model_file,
    load_model_file,
)

__all__ = [
    "APPLICATIONS",
    "DEFAULT_MODEL",
    "MAX_CLASS_NAMES_BYTES",
    "MAX_MODEL_BYTES",
    "MODELS",
    "MODEL_EXTENSIONS",
    "PRESETS",
    "ClassNamesError",
    "LayerInfo",
    "LayerNotFoundError",
    "ModelFile",
    "ModelFileError",
    "ModelSource",
    "Preset",
    "PresetGuess",
    "WeightsUnavailableError",
    "check_class_count",
    "check_model_file",
    "default_cam_layer",
    "describe_layers",
    "find_layer",
    "get_source",
    "guess_preset",
    "load_model_file",
    "numbered_class_names",
    "parse_class_names",
    "spatial_layers",
    "trained_source",
    "uploaded_source",
]
