"""Model sources, loading, preprocessing, layer listing and class names. No Streamlit import."""

from models.class_names import ClassNamesError, check_class_count, numbered_class_names, parse_class_names
from models.keras_applications import APPLICATIONS, WeightsUnavailableError
from models.layers import LayerInfo, LayerNotFoundError, default_cam_layer, describe_layers, find_layer, spatial_layers
from models.preprocessing import PRESETS, Preset, PresetGuess, guess_preset
from models.registry import DEFAULT_MODEL, MODELS, ModelSource, get_source, uploaded_source
from models.uploaded import MODEL_EXTENSIONS, ModelFile, ModelFileError, load_model_file

__all__ = [
    "APPLICATIONS",
    "DEFAULT_MODEL",
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
    "default_cam_layer",
    "describe_layers",
    "find_layer",
    "get_source",
    "guess_preset",
    "load_model_file",
    "numbered_class_names",
    "parse_class_names",
    "spatial_layers",
    "uploaded_source",
]
