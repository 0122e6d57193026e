"""Property-based: whatever bytes or pixel arrays arrive, the image loader returns an image or raises ImageError."""

from __future__ import annotations

import io

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

import imaging

FORMATS = ("PNG", "JPEG", "BMP", "TIFF", "WEBP", "GIF")
# Pillow can write these array kinds; each becomes a different decoder path (8-bit, 16-bit, float, gray, RGB(A)).
ARRAY_KINDS = st.sampled_from(
    [
        (np.uint8, ()),
        (np.uint8, (3,)),
        (np.uint8, (4,)),
        (np.uint16, ()),
        (np.float32, ()),
    ]
)


def check(data: bytes) -> None:
    try:
        loaded = imaging.load_image(data)
    except imaging.ImageError as error:
        assert str(error), "an ImageError must say what is wrong"
        return
    values = loaded.values
    assert values.dtype == np.float32 and values.ndim == 3 and values.shape[-1] in (1, 3)
    assert values.shape[0] >= 1 and values.shape[1] >= 1
    pixels = loaded.pixels
    assert pixels.shape == (*values.shape[:2], 3)
    assert np.isfinite(pixels).all() and pixels.min() >= 0 and pixels.max() <= 255


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=4096))
def test_random_bytes_give_an_image_or_our_error(data):
    check(data)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(FORMATS), st.binary(min_size=1, max_size=512), st.integers(0, 4096))
def test_real_headers_with_random_bodies_give_an_image_or_our_error(fmt, noise, cut):
    """A valid file's header followed by garbage, or cut short: the decoders' own error paths."""
    buffer = io.BytesIO()
    Image.new("RGB", (17, 9), (200, 100, 50)).save(buffer, format=fmt)
    valid = buffer.getvalue()
    check(valid[:cut] + noise)


@st.composite
def encoded_arrays(draw):
    dtype, channels = draw(ARRAY_KINDS)
    height, width = draw(st.integers(1, 40)), draw(st.integers(1, 40))
    elements = (
        st.floats(allow_nan=True, allow_infinity=True, width=32)
        if dtype is np.float32
        else st.integers(0, np.iinfo(dtype).max)
    )
    pixels = draw(arrays(dtype, (height, width, *channels), elements=elements))
    formats = ("TIFF",) if dtype is np.float32 else ("PNG", "TIFF") if dtype is np.uint16 else FORMATS
    fmt = draw(st.sampled_from(formats))
    if fmt in ("JPEG", "BMP", "GIF") and channels == (4,):
        pixels = pixels[..., :3]
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt)
    return buffer.getvalue()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(encoded_arrays())
def test_random_pixel_arrays_of_any_depth_and_shape_load(data):
    check(data)
