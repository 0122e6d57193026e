"""DICOM images with pydicom: stored values through the modality LUT, the file's own window, and nothing that
identifies the patient.

Only the pixels and a few acquisition facts leave :func:`load_dicom` (the window presets, the pixel spacing, the
number of frames, the modality); the dataset itself, with the patient's name, IDs, dates, institution and UIDs
(DICOM PS3.15's basic de-identification profile), is dropped before the function returns, so none of it can be
shown, logged, cached with the image or written to a report.
"""

from __future__ import annotations

import io

import numpy as np

PREAMBLE_BYTES = 128
MAGIC = b"DICM"
PRIVACY_NOTE = "patient-identifying DICOM attributes were dropped: they are never shown, kept or written"


def is_dicom(data: bytes) -> bool:
    """A DICOM Part 10 file: a 128-byte preamble, then ``DICM`` (whatever the file's name)."""
    return data[PREAMBLE_BYTES : PREAMBLE_BYTES + len(MAGIC)] == MAGIC


def _windows(dataset, values: np.ndarray) -> list[tuple[str, tuple[float, float]]]:
    """The file's own window presets, as (name, (low, high)) in modality units: WindowCenter/Width (one or
    several) or a VOI LUT's range."""
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
                presets.append((label, (float(centre) - float(width) / 2, float(centre) + float(width) / 2)))
    if not presets and "VOILUTSequence" in dataset:
        from pydicom.pixels import apply_voi_lut

        voi = apply_voi_lut(values, dataset)
        presets.append(
            ("file VOI LUT range", (float(values[voi <= voi.min()].max()), float(values[voi >= voi.max()].min())))
        )
    return presets


def load_dicom(data: bytes, image_error: type[Exception], max_pixels: int):
    """Decode a DICOM file into the loader's (values, bit depth, notes, window presets, modality).

    ``values`` are float32 (H, W, 1) or (H, W, 3) after the modality LUT (e.g. Hounsfield units for CT), with
    MONOCHROME1 inverted so that high values are bright; a multi-frame file gives its first frame. Raises
    ``image_error`` with a sentence for what cannot be read (no pixels, a compression that needs a decoder that is
    not installed)."""
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
    frames = int(dataset.get("NumberOfFrames", 1) or 1)
    try:
        pixels = pixel_array(dataset, index=0) if frames > 1 else dataset.pixel_array  # one frame decoded
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
        notes.append(f"first of {frames} frames used")
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
    windows = _windows(dataset, values[..., 0]) if samples == 1 else []
    if photometric == "MONOCHROME1":
        low, high = float(values.min()), float(values.max())
        values = (low + high) - values
        windows = [(label, (low + high - top, low + high - bottom)) for label, (bottom, top) in windows]
        notes.append("MONOCHROME1 inverted, so that high values are bright")
    spacing = dataset.get("PixelSpacing")
    if spacing is not None and len(spacing) == 2:
        notes.append(f"pixel spacing {float(spacing[0]):g} x {float(spacing[1]):g} mm")
    modality = str(dataset.get("Modality", "")) or None
    notes.append(PRIVACY_NOTE)
    del dataset  # nothing of it outlives this call
    return values, bit_depth, tuple(notes), tuple(windows), modality
