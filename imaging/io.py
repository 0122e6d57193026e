"""Decode an uploaded or bundled image into float pixel values, or say clearly why not."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

ACCEPTED_FORMATS = ("PNG", "JPEG", "BMP", "TIFF", "WEBP", "GIF")
EXIF_ORIENTATION = 0x0112
MAX_PIXELS = 50_000_000  # decompression-bomb guard: a 7000x7000 photo is fine, 30000x30000 is not


class ImageError(ValueError):
    """The bytes are not an image we can use; the message is fit to show a user."""


@dataclass(frozen=True)
class LoadedImage:
    """Pixels as float32 (H, W, 3) RGB on the 0..255 scale, and what was done to get them."""

    pixels: np.ndarray
    format: str
    original_mode: str
    notes: tuple[str, ...] = ()


def _to_rgb(image: Image.Image, notes: list[str]) -> np.ndarray:
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        values = np.asarray(image, np.float32)
        low, high = float(values.min()), float(values.max())
        # Full-range linear scaling; window/level controls for 16-bit images come later.
        scaled = (values - low) * (255.0 / (high - low)) if high > low else np.zeros_like(values)
        notes.append(f"{mode} image scaled linearly from {low:g}..{high:g} to 0..255")
        return np.repeat(scaled[..., None], 3, axis=-1)
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
        notes.append("transparency flattened onto white")
    if mode in ("L", "1"):
        notes.append("grayscale repeated to three channels")
    return np.asarray(image.convert("RGB"), np.float32)


def load_image(data: bytes) -> LoadedImage:
    """Decode ``data``: EXIF orientation applied, alpha flattened, grayscale expanded to RGB.

    Raises :class:`ImageError` for anything that is not a readable image of a supported format,
    or that decodes to more than :data:`MAX_PIXELS` pixels.
    """
    if not data:
        raise ImageError("The file is empty.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in ACCEPTED_FORMATS:
                raise ImageError(f"{image.format} images are not supported; use PNG, JPEG, BMP, TIFF or WebP.")
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
            pixels = _to_rgb(image, notes)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        limit = MAX_PIXELS // 1_000_000
        raise ImageError(f"The image is too large to decode safely (over {limit} megapixels).") from None
    except UnidentifiedImageError:
        raise ImageError("This file is not an image we can read (PNG, JPEG, BMP, TIFF or WebP).") from None
    except (OSError, ValueError, SyntaxError) as error:
        raise ImageError(f"The image could not be decoded: it may be truncated or corrupt ({error}).") from None
    return LoadedImage(pixels=pixels, format=image_format, original_mode=original_mode, notes=tuple(notes))


def resize_for_model(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize the whole image (no crop, so nothing is hidden from the explanation) to ``size``."""
    height, width = size
    if pixels.shape[:2] == (height, width):
        return pixels.astype(np.float32)
    image = Image.fromarray(np.clip(pixels, 0, 255).round().astype(np.uint8))
    return np.asarray(image.resize((width, height), Image.Resampling.BILINEAR), np.float32)
