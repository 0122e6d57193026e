"""DICOM images with pydicom: stored values through the modality LUT, the file's own window, and nothing that
identifies the patient.

Only the pixels and a few acquisition facts leave :func:`load_dicom` (the window presets, the pixel spacing, the
number of frames, the modality); the dataset itself, with the patient's name, IDs, dates, institution and UIDs
(DICOM PS3.15's basic de-identification profile), is dropped before the function returns, so none of it can be
shown, logged, cached with the image or written to a report.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from imaging.intensity import Window

PREAMBLE_BYTES = 128
MAGIC = b"DICM"
PRIVACY_NOTE = "patient-identifying DICOM attributes were dropped: they are never shown, kept or written"


def is_dicom(data: bytes) -> bool:
    """A DICOM Part 10 file: a 128-byte preamble, then ``DICM`` (whatever the file's name)."""
    return data[PREAMBLE_BYTES : PREAMBLE_BYTES + len(MAGIC)] == MAGIC


def _windows(dataset) -> list[tuple[str, Window]]:
    """The file's own window presets in modality units: each WindowCenter/Width, and its VOI LUT as a curve."""
    from pydicom.multival import MultiValue

    presets = []
    centres, widths = dataset.get("WindowCenter"), dataset.get("WindowWidth")
    if centres is not None and widths is not None:
        centres = list(centres) if isinstance(centres, MultiValue) else [centres]
        widths = list(widths) if isinstance(widths, MultiValue) else [widths]
        explanations = dataset.get("WindowCenterWidthExplanation")
        explanations = list(explanations) if isinstance(explanations, MultiValue) else [explanations]
        for index, (centre, width) in enumerate(zip(centres, widths, strict=False)):
            if float(width) > 0:
                name = explanations[index] if index < len(explanations) and explanations[index] else None
                label = f"file window {index + 1}" + (f" ({name})" if name else "")
                presets.append((label, Window.from_level(float(centre), float(width))))
    if "VOILUTSequence" in dataset:
        curve = _voi_lut_window(dataset)
        if curve is not None:
            presets.append(("file VOI LUT (curve)", curve))
    return presets


_CURVE_POINTS = 1024
"""A VOI LUT's curve is kept at most this many points (linear in between): enough for a display's 256 levels."""


def _voi_lut_window(dataset) -> Window | None:
    """The file's first VOI LUT as a curved window (PS3.3 C.11.2): values below the LUT's first input take its first
    entry, above its last its last; outputs are on 0..2^bits - 1, shown as black to white."""
    item = dataset.VOILUTSequence[0]
    try:
        entries, first, bits = (int(v) for v in item.LUTDescriptor)
        raw = item.LUTData
    except (AttributeError, TypeError, ValueError):
        return None
    entries = entries or 65536  # DICOM writes 2^16 entries as 0
    if first >= 2**15 and int(dataset.get("PixelRepresentation", 0)) == 1:
        first -= 2**16  # the first input of a signed image, written as unsigned
    if isinstance(raw, bytes):
        table = np.frombuffer(raw, "<u1" if bits <= 8 and len(raw) == entries else "<u2")
    else:
        table = np.atleast_1d(np.asarray(raw, np.float64))  # a list (US), or one number for a one-entry table
    if entries < 2 or len(table) < entries or not 1 <= bits <= 16:
        return None
    inputs = np.arange(first, first + entries, dtype=np.float64)
    outputs = np.clip(table[:entries].astype(np.float64) / (2**bits - 1), 0.0, 1.0)
    if entries > _CURVE_POINTS:
        keep = np.unique(np.rint(np.linspace(0, entries - 1, _CURVE_POINTS)).astype(int))
        inputs, outputs = inputs[keep], outputs[keep]
    return Window(float(inputs[0]), float(inputs[-1]), (tuple(inputs.tolist()), tuple(outputs.tolist())))


def _mirrored(window: Window, total: float) -> Window:
    """``window`` for values mirrored as ``total - value`` (MONOCHROME1 made bright-is-high): what was shown dark
    is now shown bright."""
    curve = None
    if window.curve is not None:
        inputs, outputs = window.curve
        curve = (tuple(total - x for x in reversed(inputs)), tuple(1.0 - y for y in reversed(outputs)))
    return Window(total - window.high, total - window.low, curve)


@dataclass(frozen=True)
class DicomImage:
    """What leaves :func:`load_dicom`: pixels and acquisition facts, nothing about the patient."""

    values: np.ndarray
    """float32 (H, W, 1) or (H, W, 3) after the modality LUT, MONOCHROME1 inverted."""
    bit_depth: int
    notes: tuple[str, ...]
    windows: tuple[tuple[str, Window], ...]
    modality: str | None
    frames: int = 1
    frame: int = 0
    """The frame decoded (0-based) of ``frames``."""
    pixel_spacing: tuple[float, float] | None = None
    """Row and column spacing in mm (DICOM PixelSpacing), when the file gives it."""


def load_dicom(data: bytes, image_error: type[Exception], max_pixels: int, frame: int = 0) -> DicomImage:
    """Decode frame ``frame`` (0-based) of a DICOM file, the only frame decoded.

    Values go through the modality LUT (e.g. Hounsfield units for CT), with MONOCHROME1 inverted so that high
    values are bright. Raises ``image_error`` with a sentence for what cannot be read (no pixels, a frame that is not
    there, a compression that needs a decoder that is not installed)."""
    import pydicom
    from pydicom.errors import InvalidDicomError
    from pydicom.pixels import apply_modality_lut, pixel_array

    try:
        dataset = pydicom.dcmread(io.BytesIO(data))
    except (InvalidDicomError, EOFError, ValueError, KeyError, OSError) as error:
        raise image_error(f"The DICOM file could not be read: it may be truncated or corrupt ({error}).") from None
    if "PixelData" not in dataset:
        raise image_error(
            "The DICOM file holds no image (no pixel data): it may be a report, a plan or a structure set."
        )
    syntax = dataset.file_meta.get("TransferSyntaxUID")
    rows, columns = int(dataset.get("Rows", 0)), int(dataset.get("Columns", 0))
    if rows * columns > max_pixels:  # before decoding: a compressed frame can be far larger than its file
        raise image_error(f"The image is {columns}x{rows} pixels; the limit is {max_pixels // 1_000_000} megapixels.")
    try:
        frames = max(int(dataset.get("NumberOfFrames", 1) or 1), 1)
    except ValueError:
        raise image_error("The DICOM file's NumberOfFrames is not a number.") from None
    if not 0 <= frame < frames:
        plural = "s" if frames > 1 else ""
        raise image_error(f"The DICOM file has {frames} frame{plural}; there is no frame {frame + 1}.")
    try:
        pixels = pixel_array(dataset, index=frame) if frames > 1 else dataset.pixel_array  # one frame decoded
    except Exception as error:  # pydicom raises several types for missing decoders and damaged data
        name = getattr(syntax, "name", str(syntax))
        if syntax is not None and syntax.is_compressed:
            raise image_error(
                f"This DICOM file is compressed ({name}) and no installed decoder reads it; "
                "`pip install pylibjpeg pylibjpeg-libjpeg pylibjpeg-openjpeg` adds JPEG, JPEG-LS and JPEG 2000."
            ) from None
        raise image_error(f"The DICOM pixel data could not be decoded ({error}).") from None
    samples = int(dataset.get("SamplesPerPixel", 1))
    notes = []
    if frames > 1:
        notes.append(f"frame {frame + 1} of {frames}")
    photometric = str(dataset.get("PhotometricInterpretation", "MONOCHROME2"))
    if samples == 3:
        if photometric.startswith("YBR"):
            from pydicom.pixels import convert_color_space

            pixels = convert_color_space(pixels, photometric, "RGB")
        values = pixels.astype(np.float32)
        bit_depth = int(dataset.get("BitsStored", 8))
    else:
        values = np.asarray(apply_modality_lut(pixels, dataset), np.float32)[..., None]
        bit_depth = max(int(dataset.get("BitsStored", 16)), 9)  # a deep image: windowed, never read as 8-bit
        if "RescaleSlope" in dataset or "RescaleIntercept" in dataset:
            notes.append("modality LUT applied (rescale slope and intercept)")
    windows = _windows(dataset) if samples == 1 else []
    if photometric == "MONOCHROME1":
        low, high = float(values.min()), float(values.max())
        values = (low + high) - values
        windows = [(label, _mirrored(window, low + high)) for label, window in windows]
        notes.append("MONOCHROME1 inverted, so that high values are bright")
    spacing = dataset.get("PixelSpacing")
    pixel_spacing = None
    if spacing is not None and len(spacing) == 2 and all(float(v) > 0 for v in spacing):
        pixel_spacing = (float(spacing[0]), float(spacing[1]))
        notes.append(f"pixel spacing {pixel_spacing[0]:g} x {pixel_spacing[1]:g} mm")
    modality = str(dataset.get("Modality", "")) or None
    notes.append(PRIVACY_NOTE)
    del dataset  # nothing of it outlives this call
    return DicomImage(values, bit_depth, tuple(notes), tuple(windows), modality, frames, frame, pixel_spacing)
