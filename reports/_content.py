"""What a report says, gathered once from the engine's results; the HTML and PDF writers only lay it out."""

from __future__ import annotations

import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pandas as pd

import explainers
import imaging
import metrics

APP_NAME = "Explanation Explorer"
APP_VERSION = "0.14.0"
"""Bumped with each resolved issue; a report names it so that a reader knows what made it."""

DICOM_NAME_LEFT_OUT = "a DICOM file (its name is left out: file names often name the patient)"


@dataclass(frozen=True)
class ModelFacts:
    """The model as a reader needs to identify and judge it."""

    label: str
    description: str
    preprocessing: str
    preprocessing_reason: str | None = None
    """Why the app chose this preprocessing for a model file (its guess), when it was guessed."""
    file_sha256: str | None = None
    cam_layer: str | None = None
    output_kind: str = "softmax"

    @classmethod
    def of(cls, source, output_kind: str, layer: str | None = None, guess=None) -> ModelFacts:
        """From a ``models.ModelSource``, the chosen CAM layer and, for a model file, the app's preprocessing
        guess (``models.PresetGuess``) and why it guessed so (the preset in use may be another: the user's)."""
        reason = None
        if guess is not None:
            from models import PRESETS

            reason = f"the app guessed {PRESETS[guess.preset].label} because {guess.reason}"
        return cls(
            label=source.label,
            description=source.description,
            preprocessing=source.preprocessing,
            preprocessing_reason=reason,
            file_sha256=source.file_sha256,
            cam_layer=layer,
            output_kind=output_kind,
        )


@dataclass(frozen=True)
class ImageFacts:
    """The image as the model saw it, and how its stored values became those pixels."""

    title: str
    image: np.ndarray
    """The image at the model's input size after the intensity window, float 0..255 (H, W, 3): what the model saw,
    and what the maps are drawn over (as on the page)."""
    stored: str
    """The file's format, bit depth and size."""
    window: str
    notes: tuple[str, ...] = ()

    @classmethod
    def of(cls, loaded: imaging.LoadedImage, title: str, window: imaging.Window, image: np.ndarray) -> ImageFacts:
        """``image`` is what the model was given, 0..255 float at its input size. A DICOM file's name is left out:
        only the attributes ``imaging`` keeps (never the patient's) reach a report."""
        height, width = loaded.values.shape[:2]
        kind = "grayscale" if loaded.grayscale else "colour"
        origin = "a bundled sample" if loaded.format == "sample" else loaded.format
        stored = f"{origin}, {loaded.bit_depth}-bit {kind}, {width}x{height} pixels"
        if loaded.format == "DICOM":
            title = DICOM_NAME_LEFT_OUT
            stored = f"DICOM ({loaded.original_mode}), {loaded.bit_depth}-bit {kind}, {width}x{height} pixels"
        if loaded.spacing_text:
            stored += f"; {loaded.spacing_text}"
        if window.curve is None:
            shown = (
                f"stored values {window.low:g} to {window.high:g} shown as black to white "
                f"(level {window.level:g}, width {window.width:g}); values outside are clipped"
            )
        else:
            shown = f"stored values {window.low:g} to {window.high:g} shown through the file's VOI LUT, a curve"
        presets = [label for label, preset in loaded.window_presets if preset == window]
        if presets:
            shown += f"; the file's own window ({presets[0]})"
        return cls(title, image, stored, shown, tuple(loaded.notes))

    @property
    def picture(self) -> np.ndarray:
        """The image as uint8 RGB."""
        picture = imaging.to_uint8(self.image)
        return np.repeat(picture, 3, axis=-1) if picture.shape[-1] == 1 else picture


@dataclass(frozen=True)
class MapEntry:
    """One map as the Compare page shows it, with everything known about how far to trust it."""

    method: str
    label: str
    class_name: str
    picture: bytes
    """The overlay as PNG, drawn with the report's display settings."""
    colour_bar: imaging.ColourBar
    caption: str
    description: str
    misleads_when: str
    paper: str
    trust: tuple[str, ...]
    """Sentences (Markdown ``**bold**``): reproducibility or completeness, faithfulness, randomisation."""
    warning: str | None = None


@dataclass(frozen=True)
class Report:
    model: ModelFacts
    image: ImageFacts
    chart_title: str
    chart_rows: tuple[tuple[str, float], ...]
    chart_is_probability: bool
    target: str
    """The explained class and the model's confidence in it."""
    display: imaging.Display
    maps: tuple[MapEntry, ...]
    unavailable: tuple[tuple[str, str], ...] = ()
    """Methods asked for that cannot run on this model: (label, why)."""
    agreement: tuple[tuple[str, ...], np.ndarray] | None = None
    """Method labels and their pairwise Spearman correlation of |map|."""
    faithfulness: pd.DataFrame | None = None
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    software: str = ""

    @property
    def title(self) -> str:
        return f"Why the model predicted {self.target}"

    @property
    def display_text(self) -> str:
        normalisation = imaging.NORMALISATIONS[self.display.normalisation]
        return (
            f"Unsigned maps on the {self.display.colormap} colormap from 0, signed maps on blue–white–red centred at "
            f"0 (red for the class, blue against); {normalisation.lower()}; map opacity {self.display.opacity:.0%}."
        )


FAITHFULNESS_READING = (
    f"Deletion and insertion ({metrics.DELETION.paper}), the area under each curve beside a random order's. "
    f"Deletion: {metrics.DELETION.reading} Insertion: {metrics.INSERTION.reading}"
)
MISSING_TRUST = "Faithfulness not measured (Measure faithfulness on the Compare page, or cli.py --metrics)."


def software_versions() -> str:
    import keras
    import tensorflow as tf

    return (
        f"{APP_NAME} {APP_VERSION} · TensorFlow {tf.__version__} · Keras {keras.__version__} · "
        f"Python {platform.python_version()} · computed on {explainers.compute_device()}"
    )


def compose(
    *,
    model: ModelFacts,
    image: ImageFacts,
    prediction: explainers.Prediction,
    target: int,
    explanations: Sequence[explainers.Explanation],
    display: imaging.Display | None = None,
    faithfulness: Mapping[str, metrics.Curves] | None = None,
    chance: metrics.Curves | None = None,
    randomization: Mapping[str, metrics.RandomizationResult] | None = None,
    unavailable: Mapping[str, str] | None = None,
    created: datetime | None = None,
) -> Report:
    """Everything a report shows about one image, one model and its maps, as the Compare page shows it.

    Trust results are included where they were measured (``faithfulness`` with its random-order ``chance``,
    ``randomization``); a map without them says so.
    """
    faithfulness, randomization = faithfulness or {}, randomization or {}
    display = display or imaging.Display()
    confidence = prediction.confidence(target)
    entries = []
    for explanation in explanations:
        info = explanation.info
        class_name = prediction.names[explanation.target]
        trust = [metrics.reproducibility_text(explanation)]
        curves = faithfulness.get(explanation.method)
        trust.append(MISSING_TRUST if curves is None else metrics.faithfulness_text(curves, chance))
        trust.append(metrics.randomization_text(randomization.get(explanation.method), info))
        entries.append(
            MapEntry(
                method=explanation.method,
                label=info.label,
                class_name=class_name,
                picture=imaging.overlay_png(
                    image.image,
                    explanation.attribution,
                    info.signed,
                    display,
                    explanation.segments,
                ),
                colour_bar=imaging.colour_bar(
                    explanation.attribution, info.signed, display.colormap, display.normalisation
                ),
                caption=explainers.caption(explanation, class_name, prediction.confidence(explanation.target)),
                description=info.description,
                misleads_when=info.misleads_when,
                paper=info.paper,
                trust=tuple(text.replace("  \n", " ") for text in trust),
                warning=None
                if info.passes_randomization_check
                else "Fails the model-randomisation sanity check in the literature (Adebayo et al., 2018): it can "
                "look much the same for a model with random weights.",
            )
        )
    agreement = None
    if len(explanations) > 1:
        labels = tuple(e.info.label for e in explanations)
        agreement = (labels, metrics.agreement({e.method: e.attribution for e in explanations}))
    measured = {e.method: faithfulness[e.method] for e in explanations if e.method in faithfulness}
    return Report(
        model=model,
        image=image,
        chart_title=prediction.chart_title,
        chart_rows=tuple(prediction.chart_rows()),
        chart_is_probability=prediction.probabilities is not None,
        target=f"{prediction.names[target]} ({confidence})",
        display=display,
        maps=tuple(entries),
        unavailable=tuple((explainers.METHODS[m].label, why) for m, why in (unavailable or {}).items()),
        agreement=agreement,
        faithfulness=metrics.faithfulness_table(measured, chance) if measured else None,
        created=created or datetime.now(UTC),
        software=software_versions(),
    )
