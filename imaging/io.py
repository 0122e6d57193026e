"""Decode an uploaded or bundled image into float pixel values, or say clearly why not."""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from imaging.dicom import is_dicom, load_dicom
from imaging.intensity import Window, apply_window, full_range

ACCEPTED_FORMATS = ("PNG", "JPEG", "BMP", "TIFF", "WEBP", "GIF")
FORMATS_TEXT = "PNG, JPEG, BMP, TIFF, WebP, GIF or DICOM"
IMAGE_EXTENSIONS = ("png", "jpg", "jpeg", "bmp", "tif", "tiff", "webp", "gif", "dcm")
EXIF_ORIENTATION = 0x0112
_DEEP_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")
MAX_PIXELS = 50_000_000  # decompression-bomb guard: a 7000x7000 photo is fine, 30000x30000 is not
MAX_IMAGE_BYTES = 50 << 20  # a 5000x5000 uncompressed 16-bit scan fits; the image uploader says the same


class ImageError(ValueError):
    """The bytes are not an image we can use; the message is fit to show a user."""


@dataclass(frozen=True)
class LoadedImage:
    """The stored values of an image, and what was done to read them.

    ``values`` is float32 (H, W, 1) for grayscale or (H, W, 3) for colour, in the file's own units
    (0..255 for 8-bit, 0..65535 for 16-bit): nothing is rescaled until a :class:`Window` is applied.
    """

    values: np.ndarray
    format: str
    original_mode: str
    bit_depth: int = 8
    notes: tuple[str, ...] = ()
    window_presets: tuple[tuple[str, Window], ...] = ()
    """Windows the file itself names (a DICOM file's WindowCenter/Width); the first is the default."""
    frames: int = 1
    """How many frames the file holds (a multi-frame DICOM file); ``frame`` (0-based) is the one decoded."""
    frame: int = 0
    pixel_spacing: tuple[float, float] | None = None
    """Row and column spacing in mm, when the file gives it (DICOM PixelSpacing)."""

    @property
    def spacing_text(self) -> str | None:
        """The pixel size and the field the image covers, width first as image sizes are: e.g. ``0.66 x 0.66 mm
        pixels, a 84 x 84 mm field``."""
        if self.pixel_spacing is None:
            return None
        (row, column), (height, width) = self.pixel_spacing, self.values.shape[:2]
        return f"{column:g} x {row:g} mm pixels, a {width * column:.0f} x {height * row:.0f} mm field"

    @property
    def grayscale(self) -> bool:
        return self.values.shape[-1] == 1

    @property
    def default_window(self) -> Window:
        """The file's own window if it names one; else 8-bit images as stored, deeper ones from their darkest to
        their brightest value."""
        if self.window_presets:
            return self.window_presets[0][1]
        return Window(0.0, 255.0) if self.bit_depth == 8 else full_range(self.values)

    @property
    def pixels(self) -> np.ndarray:
        """Float32 RGB (H, W, 3) on 0..255 through the default window."""
        return apply_window(self.values, self.default_window)


def check_image_size(size: int) -> None:
    """Refuse an empty file, or one over :data:`MAX_IMAGE_BYTES` before it is read or decoded."""
    if size == 0:
        raise ImageError("The file is empty.")
    if size > MAX_IMAGE_BYTES:
        megabytes = math.ceil(size / 2**20 * 10) / 10  # rounded up: a file just over the limit reads as over it
        raise ImageError(f"The file is {megabytes:.1f} MB, over the {MAX_IMAGE_BYTES >> 20} MB limit for images.")


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_TIFF_BITS_PER_SAMPLE, _TIFF_SAMPLES_PER_PIXEL = 258, 277
# Orientation -> the numpy steps of Pillow's ImageOps.exif_transpose, for images Pillow cannot hold.
_ORIENT = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: np.rot90(a, -1)[::-1],
    8: lambda a: np.rot90(a, 1),
}


def _is_deep_colour(image: Image.Image, data: bytes) -> bool:
    """Colour with more than 8 bits a channel, which Pillow would reduce to 8 (48/64-bit PNG and TIFF)."""
    if image.format == "PNG" and data[:8] == _PNG_SIGNATURE:
        bit_depth, colour_type = data[24], data[25]
        return bit_depth == 16 and colour_type in (2, 4, 6)  # RGB, gray + alpha, RGBA
    if image.format == "TIFF":
        bits = image.tag_v2.get(_TIFF_BITS_PER_SAMPLE, (8,))
        bits = bits if isinstance(bits, tuple) else (bits,)
        return image.tag_v2.get(_TIFF_SAMPLES_PER_PIXEL, 1) >= 2 and max(bits) == 16
    return False


def _deep_colour_values(data: bytes, orientation: int, notes: list[str]) -> np.ndarray:
    """Decode 16-bit colour with OpenCV, keeping every level: float32 RGB (or gray), alpha flattened onto white."""
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if decoded is None or decoded.dtype != np.uint16:
        raise ImageError("The 16-bit colour image could not be decoded: it may be truncated or corrupt.")
    values = decoded.astype(np.float32).reshape(*decoded.shape[:2], -1)
    if values.shape[-1] in (2, 4):  # gray + alpha, BGRA
        alpha = values[..., -1:] / 65535.0
        values = values[..., :-1] * alpha + 65535.0 * (1.0 - alpha)
        notes.append("transparency flattened onto white")
    if values.shape[-1] == 3:
        values = values[..., ::-1]  # OpenCV's BGR
    if orientation in _ORIENT:
        values = _ORIENT[orientation](values)
        notes.append("EXIF orientation applied")
    kind = "colour" if values.shape[-1] == 3 else "grayscale"
    notes.append(f"16-bit {kind}, values {values.min():g}..{values.max():g} kept until windowed")
    return np.ascontiguousarray(values)


def _stored_values(image: Image.Image, notes: list[str]) -> tuple[np.ndarray, int]:
    mode = image.mode
    if mode in _DEEP_MODES:
        values = np.asarray(image, np.float32)[..., None]
        if not np.isfinite(values).all():
            raise ImageError("The image holds NaN or infinite values, which no window can show.")
        if mode == "F":
            depth = 32
        elif mode.startswith("I;16") or float(values.max()) <= 65535:
            depth = 16
        else:
            depth = 32
        notes.append(f"{depth}-bit grayscale, values {values.min():g}..{values.max():g} kept until windowed")
        return values, depth
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
        notes.append("transparency flattened onto white")
        if mode == "LA":
            return np.asarray(image.convert("L"), np.float32)[..., None], 8
    if mode in ("L", "1"):
        return np.asarray(image.convert("L"), np.float32)[..., None], 8
    if mode == "CMYK":
        notes.append("CMYK converted to RGB without its colour profile, so colours are approximate")
    return np.asarray(image.convert("RGB"), np.float32), 8


def _check_pixels(width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        limit = MAX_PIXELS // 1_000_000
        raise ImageError(f"The image is {width}x{height} pixels; the limit is {limit} megapixels.")
    if width < 1 or height < 1:
        raise ImageError("The image has no pixels.")


def load_image(data: bytes, frame: int = 0) -> LoadedImage:
    """Decode ``data``: EXIF orientation applied, alpha flattened, stored values kept (see :class:`LoadedImage`);
    of a multi-frame DICOM file, frame ``frame`` (0-based) alone.

    Raises :class:`ImageError` for anything that is not a readable image of a supported format,
    that is larger than :data:`MAX_IMAGE_BYTES`, or that decodes to more than :data:`MAX_PIXELS` pixels.
    """
    check_image_size(len(data))
    if frame and not is_dicom(data):
        raise ImageError("Only a multi-frame DICOM file has frames to pick from; this is not a DICOM file.")
    if is_dicom(data):
        dicom = load_dicom(data, ImageError, MAX_PIXELS, frame)
        _check_pixels(dicom.values.shape[1], dicom.values.shape[0])
        return LoadedImage(
            dicom.values,
            "DICOM",
            dicom.modality or "DICOM",
            dicom.bit_depth,
            dicom.notes,
            dicom.windows,
            frames=dicom.frames,
            frame=dicom.frame,
            pixel_spacing=dicom.pixel_spacing,
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in ACCEPTED_FORMATS:
                raise ImageError(f"{image.format} images are not supported; use {FORMATS_TEXT}.")
            _check_pixels(*image.size)
            image_format, original_mode = image.format, image.mode
            notes: list[str] = []
            if getattr(image, "n_frames", 1) > 1:
                notes.append(f"first of {image.n_frames} frames used")
            if _is_deep_colour(image, data):
                values = _deep_colour_values(data, image.getexif().get(EXIF_ORIENTATION, 1), notes)
                return LoadedImage(values, image_format, original_mode, 16, tuple(notes))
            image.load()
            if image.getexif().get(EXIF_ORIENTATION, 1) != 1:
                image = ImageOps.exif_transpose(image)
                notes.append("EXIF orientation applied")
            values, bit_depth = _stored_values(image, notes)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        limit = MAX_PIXELS // 1_000_000
        raise ImageError(f"The image is too large to decode safely (over {limit} megapixels).") from None
    except UnidentifiedImageError:
        raise ImageError(f"This file is not an image we can read ({FORMATS_TEXT}).") from None
    except (OSError, ValueError, SyntaxError) as error:
        raise ImageError(f"The image could not be decoded: it may be truncated or corrupt ({error}).") from None
    return LoadedImage(values, image_format, original_mode, bit_depth, tuple(notes))


def resize_for_model(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize the whole image (no crop, so nothing is hidden from the explanation) to ``size``.

    Shrinking averages the source pixels each output pixel covers (area interpolation: no aliasing from a
    large photo); enlarging is bilinear. Both run in 32-bit float, so windowed 16-bit values are not
    quantised to 8 bits.
    """
    height, width = size
    pixels = np.asarray(pixels, np.float32)
    if pixels.shape[:2] == (height, width):
        return pixels
    shrinking = height <= pixels.shape[0] and width <= pixels.shape[1]
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    resized = cv2.resize(np.ascontiguousarray(pixels), (width, height), interpolation=interpolation)
    return resized.reshape(height, width, pixels.shape[-1])
