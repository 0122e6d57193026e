"""Decode an uploaded or bundled image into float pixel values, or say clearly why not."""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from imaging.intensity import Window, apply_window, full_range

ACCEPTED_FORMATS = ("PNG", "JPEG", "BMP", "TIFF", "WEBP", "GIF")
FORMATS_TEXT = "PNG, JPEG, BMP, TIFF, WebP or GIF"
IMAGE_EXTENSIONS = ("png", "jpg", "jpeg", "bmp", "tif", "tiff", "webp", "gif")
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

    @property
    def grayscale(self) -> bool:
        return self.values.shape[-1] == 1

    @property
    def default_window(self) -> Window:
        """8-bit images as stored; deeper ones from their darkest to their brightest value."""
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


def load_image(data: bytes) -> LoadedImage:
    """Decode ``data``: EXIF orientation applied, alpha flattened, stored values kept (see :class:`LoadedImage`).

    Raises :class:`ImageError` for anything that is not a readable image of a supported format,
    that is larger than :data:`MAX_IMAGE_BYTES`, or that decodes to more than :data:`MAX_PIXELS` pixels.
    """
    check_image_size(len(data))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in ACCEPTED_FORMATS:
                raise ImageError(f"{image.format} images are not supported; use {FORMATS_TEXT}.")
            width, height = image.size
            if width * height > MAX_PIXELS:
                limit = MAX_PIXELS // 1_000_000
                raise ImageError(f"The image is {width}x{height} pixels; the limit is {limit} megapixels.")
            if width < 1 or height < 1:
                raise ImageError("The image has no pixels.")
            image_format, original_mode = image.format, image.mode
            notes: list[str] = []
            if getattr(image, "n_frames", 1) > 1:
                notes.append(f"first of {image.n_frames} frames used")
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

    Each channel is resized as 32-bit float, so windowed 16-bit values are not quantised to 8 bits.
    """
    height, width = size
    pixels = np.asarray(pixels, np.float32)
    if pixels.shape[:2] == (height, width):
        return pixels
    channels = [
        Image.fromarray(np.ascontiguousarray(pixels[..., c])).resize((width, height), Image.Resampling.BILINEAR)
        for c in range(pixels.shape[-1])
    ]
    return np.stack([np.asarray(channel, np.float32) for channel in channels], axis=-1)
