"""Image decoding, the sample gallery, and map rendering."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

import imaging
from tests.conftest import bomb_png


def encode(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def gradient_rgb(width=40, height=30) -> Image.Image:
    x = np.linspace(0, 255, width, dtype=np.uint8)
    pixels = np.stack(
        [np.tile(x, (height, 1)), np.zeros((height, width), np.uint8), np.full((height, width), 9, np.uint8)], -1
    )
    return Image.fromarray(pixels)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "BMP", "TIFF", "WEBP"])
def test_every_upload_format_decodes_to_rgb_floats(fmt):
    loaded = imaging.load_image(encode(gradient_rgb(), fmt))
    assert loaded.pixels.shape == (30, 40, 3) and loaded.pixels.dtype == np.float32
    assert loaded.format == fmt
    assert loaded.pixels.min() >= 0 and loaded.pixels.max() <= 255
    assert abs(float(loaded.pixels[:, -1, 0].mean()) - 255) < 8  # content survives (JPEG is lossy)


def test_exif_orientation_is_applied():
    image = gradient_rgb(40, 30)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 clockwise to display"
    loaded = imaging.load_image(encode(image, "JPEG", exif=exif.tobytes()))
    assert loaded.pixels.shape == (40, 30, 3)
    assert "EXIF orientation applied" in loaded.notes
    assert "EXIF orientation applied" not in imaging.load_image(encode(image, "JPEG")).notes


def test_alpha_is_flattened_onto_white_and_grayscale_is_expanded():
    rgba = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    loaded = imaging.load_image(encode(rgba, "PNG"))
    np.testing.assert_array_equal(loaded.pixels, np.full((4, 4, 3), 255.0))
    gray = imaging.load_image(encode(Image.new("L", (5, 5), 77), "PNG"))
    assert gray.grayscale and gray.values.shape == (5, 5, 1)
    np.testing.assert_array_equal(gray.pixels, np.full((5, 5, 3), 77.0))


def test_sixteen_bit_images_default_to_their_full_range():
    values = np.array([[1000, 2000], [3000, 4000]], np.uint16)
    loaded = imaging.load_image(encode(Image.fromarray(values), "PNG"))
    assert loaded.bit_depth == 16 and loaded.grayscale
    np.testing.assert_allclose(loaded.pixels[..., 0], [[0, 85], [170, 255]], atol=0.01)


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_sixteen_bit_path_keeps_values_a_naive_8_bit_conversion_clips(fmt):
    """3001 distinct 16-bit levels, all above 255: PIL's own 8-bit conversion makes every one of them 255."""
    levels = np.arange(1000, 4001, dtype=np.uint16)
    stored = np.tile(levels, (4, 1))
    data = encode(Image.fromarray(stored), fmt)
    naive = np.asarray(Image.open(io.BytesIO(data)).convert("L"))
    assert np.unique(naive).tolist() == [255]

    loaded = imaging.load_image(data)
    np.testing.assert_array_equal(loaded.values[..., 0], stored)
    window = imaging.Window.from_level(level=2500, width=3000)
    pixels = imaging.apply_window(loaded.values, window)
    assert pixels.shape == (4, 3001, 3)
    assert len(np.unique(pixels[0, :, 0])) == 3001  # every level still distinct after windowing
    np.testing.assert_allclose(pixels[0, :, 0], (levels - 1000.0) * 255.0 / 3000.0, rtol=1e-6, atol=1e-4)
    # ... and after resizing to a model's input, which works in float, not 8-bit.
    resized = imaging.resize_for_model(pixels, (4, 3001))
    assert len(np.unique(resized[0, :, 0])) == 3001


def test_windows_clip_outside_and_percentiles_ignore_hot_pixels():
    values = np.linspace(0, 1000, 10_000, dtype=np.float32).reshape(100, 100, 1)
    values[0, 0] = 60_000  # one hot pixel
    assert imaging.full_range(values).high == 60_000
    clipped = imaging.percentile_window(values, (1, 99))
    assert 980 < clipped.high < 1000 and 0 < clipped.low < 20
    pixels = imaging.apply_window(values, imaging.Window(250, 750))
    assert pixels[values[..., 0] <= 250].max() == 0 and pixels[values[..., 0] >= 750].min() == 255
    with pytest.raises(ValueError, match="low < high"):
        imaging.Window(5, 5)


def test_windows_narrower_than_float32_can_scale_stay_finite():
    """Found by the property test: a float TIFF holding 0 and 1.4e-45 (the smallest denormal) became NaN,
    because 255 / width overflowed to inf and 0 * inf is NaN."""
    tiny = np.array([[[0.0], [1.4e-45]]], np.float32)
    np.testing.assert_array_equal(imaging.apply_window(tiny, imaging.full_range(tiny))[..., 0], [[0.0, 255.0]])
    below_float32 = imaging.apply_window(np.zeros((1, 2, 1), np.float32), imaging.Window(0.0, 1e-50))
    assert np.isfinite(below_float32).all() and below_float32.max() == 0


def test_the_mri_sample_is_sixteen_bit_with_values_beyond_8_bits():
    mri = imaging.load_sample("mri")
    assert mri.bit_depth == 16 and mri.values.shape == (256, 256, 1)
    assert mri.values.max() > 255 * 100
    assert "mri" in imaging.samples_for("photo") and "mri" in imaging.samples_for("fashion-mnist")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"this is not an image at all", "not an image"),
        (encode(gradient_rgb(), "PNG")[:60], "truncated or corrupt"),
    ],
)
def test_bad_files_raise_our_error_with_a_readable_message(data, message):
    with pytest.raises(imaging.ImageError, match=message):
        imaging.load_image(data)


def test_decompression_bombs_are_refused_before_decoding():
    small = bomb_png(40, 30)
    assert imaging.load_image(small).values.shape == (30, 40, 1)  # the builder makes PNGs Pillow decodes
    with pytest.raises(imaging.ImageError, match="8000x8000 pixels; the limit is 50 megapixels"):
        imaging.load_image(bomb_png(8000, 8000))  # over our limit, under Pillow's own
    bomb = bomb_png()
    assert len(bomb) < 200_000
    with pytest.raises(imaging.ImageError, match="too large to decode safely"):
        imaging.load_image(bomb)  # so far over that Pillow refuses it when reading the header


def test_files_over_the_size_limit_are_refused_before_decoding():
    imaging.check_image_size(imaging.MAX_IMAGE_BYTES)
    with pytest.raises(imaging.ImageError, match=f"over the {imaging.MAX_IMAGE_BYTES >> 20} MB limit for images"):
        imaging.load_image(encode(gradient_rgb(), "PNG") + bytes(imaging.MAX_IMAGE_BYTES))


def test_resize_for_model_keeps_the_whole_image():
    pixels = np.zeros((100, 50, 3), np.float32)
    pixels[:, :25] = 255
    resized = imaging.resize_for_model(pixels, (224, 224))
    assert resized.shape == (224, 224, 3)
    assert resized[:, :100].mean() > 250 and resized[:, 124:].mean() < 5


@pytest.mark.parametrize("name", list(imaging.SAMPLES))
def test_every_sample_loads_offline(name):
    pixels = imaging.load_sample(name).pixels
    smallest = {"photo": 200, "fashion-mnist": 28, "scan": 256}[imaging.SAMPLES[name].kind]
    assert pixels.ndim == 3 and pixels.shape[2] == 3 and pixels.shape[0] >= smallest
    assert pixels.min() >= 0 and pixels.max() <= 255


def test_normalise_clips_outliers_at_the_percentile_and_keeps_sign():
    attribution = np.linspace(0, 1, 10_000).reshape(100, 100).astype(np.float32)
    attribution[0, 0] = 1_000.0  # one outlier pixel
    by_max = imaging.normalise(attribution, signed=False, normalisation="max")
    clipped = imaging.normalise(attribution, signed=False, normalisation="percentile")
    assert np.median(by_max) < 0.001 and np.median(clipped) == pytest.approx(0.5, abs=0.02)
    signed = imaging.normalise(np.array([[-2.0, 0.0, 1.0]]), signed=True, normalisation="max")
    np.testing.assert_allclose(signed, [[-1.0, 0.0, 0.5]])


def test_overlay_centres_signed_maps_at_white_and_opacity_zero_is_the_image():
    image = np.full((2, 2, 3), 100.0)
    zero = imaging.overlay_rgb(image, np.zeros((2, 2)), signed=True, opacity=1.0)
    assert zero.min() > 240  # zero is (near) white on the diverging map
    untouched = imaging.overlay_rgb(image, np.ones((2, 2)), signed=False, opacity=0.0)
    np.testing.assert_array_equal(untouched, np.full((2, 2, 3), 100, np.uint8))


def test_figure_is_a_png_with_the_map_drawn():
    image = np.full((32, 32, 3), 128.0)
    attribution = np.zeros((32, 32), np.float32)
    attribution[8:16, 8:16] = 1.0
    png = imaging.map_figure_png(image, attribution, signed=False, title="Saliency · test", caption="0.1 s")
    figure = Image.open(io.BytesIO(png))
    assert figure.format == "PNG" and figure.width > 200


def test_cmyk_animated_multipage_and_one_pixel_images_load_and_say_what_was_done():
    cmyk = imaging.load_image(encode(Image.new("CMYK", (6, 6), (0, 255, 255, 0)), "JPEG"))
    assert cmyk.values.shape == (6, 6, 3) and any("CMYK" in note for note in cmyk.notes)
    np.testing.assert_allclose(cmyk.values[0, 0], [255, 0, 0], atol=2)  # no magenta/yellow ink left = red

    frames = [Image.new("RGB", (8, 8), colour) for colour in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    gif = imaging.load_image(encode(frames[0], "GIF", save_all=True, append_images=frames[1:]))
    assert "first of 3 frames used" in gif.notes
    tiff = imaging.load_image(encode(frames[0], "TIFF", save_all=True, append_images=frames[1:]))
    assert "first of 3 frames used" in tiff.notes
    np.testing.assert_array_equal(tiff.values[0, 0], [255, 0, 0])

    dot = imaging.load_image(encode(Image.new("RGB", (1, 1), (10, 20, 30)), "PNG"))
    resized = imaging.resize_for_model(dot.pixels, (224, 224))
    assert resized.shape == (224, 224, 3)
    np.testing.assert_allclose(resized[100, 100], [10, 20, 30], atol=1e-3)


def png_with_exif_orientation(png: bytes, orientation: int) -> bytes:
    """``png`` with an eXIf chunk (before its first IDAT) saying how to turn it."""
    import struct
    import zlib

    exif = Image.Exif()
    exif[0x0112] = orientation
    data = exif.tobytes()[6:]  # without the "Exif\0\0" marker, as PNG's eXIf chunk stores it
    chunk = struct.pack(">I", len(data)) + b"eXIf" + data + struct.pack(">I", zlib.crc32(b"eXIf" + data))
    first_idat = png.index(b"IDAT") - 4
    return png[:first_idat] + chunk + png[first_idat:]


def test_16_bit_colour_keeps_every_level_where_pillow_keeps_8_bits():
    import cv2

    rng = np.random.default_rng(0)
    stored = rng.integers(0, 65536, size=(6, 9, 3), dtype=np.uint16)
    stored[0, :3, 0] = [1000, 1001, 1002]  # one 8-bit level apart from nothing
    for extension in (".png", ".tiff"):
        data = cv2.imencode(extension, np.ascontiguousarray(stored[..., ::-1]))[1].tobytes()
        assert np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).dtype == np.uint8  # what Pillow gives
        loaded = imaging.load_image(data)
        assert loaded.bit_depth == 16 and not loaded.grayscale
        np.testing.assert_array_equal(loaded.values, stored.astype(np.float32))
        assert any("16-bit colour" in note for note in loaded.notes)
        windowed = imaging.apply_window(loaded.values, loaded.default_window)
        assert len(np.unique(windowed[0, :3, 0])) == 3

    with_alpha = np.concatenate([stored, np.full((6, 9, 1), 65535, np.uint16)], axis=-1)
    with_alpha[0, 0, 3] = 0  # one transparent pixel: white, as for 8-bit images
    data = cv2.imencode(".png", np.ascontiguousarray(with_alpha[..., [2, 1, 0, 3]]))[1].tobytes()
    loaded = imaging.load_image(data)
    np.testing.assert_array_equal(loaded.values[0, 0], [65535.0] * 3)
    np.testing.assert_array_equal(loaded.values[1:], stored[1:].astype(np.float32))
    assert "transparency flattened onto white" in loaded.notes

    png = cv2.imencode(".png", np.ascontiguousarray(stored[..., ::-1]))[1].tobytes()
    for orientation, turned in ((6, np.rot90(stored, -1)), (3, stored[::-1, ::-1]), (5, stored.transpose(1, 0, 2))):
        loaded = imaging.load_image(png_with_exif_orientation(png, orientation))
        np.testing.assert_array_equal(loaded.values, turned.astype(np.float32))
        assert "EXIF orientation applied" in loaded.notes


def test_deep_colour_orientations_match_pillows_exif_transpose():
    from PIL import ImageOps

    from imaging.io import _ORIENT

    pixels = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3)
    for orientation, turn in _ORIENT.items():
        image = Image.fromarray(pixels)
        exif = image.getexif()
        exif[0x0112] = orientation
        turned_by_pillow = ImageOps.exif_transpose(Image.open(io.BytesIO(encode(image, "PNG", exif=exif.tobytes()))))
        np.testing.assert_array_equal(turn(pixels), np.asarray(turned_by_pillow), err_msg=f"orientation {orientation}")


def test_shrinking_averages_what_each_pixel_covers_so_fine_patterns_do_not_alias():
    checkerboard = (np.indices((448, 448)).sum(axis=0) % 2 * 255.0).astype(np.float32)[..., None]
    shrunk = imaging.resize_for_model(checkerboard, (224, 224))
    assert shrunk.shape == (224, 224, 1)
    np.testing.assert_allclose(shrunk, 127.5, atol=1e-3)  # point-sampling would give 0 or 255
    grown = imaging.resize_for_model(np.array([[[0.0], [255.0]]], np.float32), (1, 8))
    assert np.all(np.diff(grown[0, :, 0]) >= 0) and grown[0, 0, 0] == 0 and grown[0, -1, 0] == 255  # bilinear


def test_overlay_colours_come_from_the_colormap_and_the_colour_bar_states_the_scale():
    import matplotlib

    attribution = np.linspace(-2.0, 4.0, 100, dtype=np.float32).reshape(10, 10)
    black = np.zeros((10, 10, 3), np.float32)
    for signed, colormap in ((True, "RdBu_r"), (False, "viridis")):
        normalised = imaging.normalise(attribution, signed, "max")
        unit = (normalised + 1) / 2 if signed else normalised
        expected = matplotlib.colormaps[colormap](unit)[..., :3] * 255
        drawn = imaging.overlay_rgb(black, normalised, signed, "viridis", opacity=1.0)
        assert np.abs(drawn - expected).max() <= 0.5  # the colormap's own colours, rounded to bytes
        bar = imaging.colour_bar(attribution, signed, "viridis", "max")
        assert (bar.low, bar.high) == ((-4.0, 4.0) if signed else (0.0, 4.0))
        first, last = (np.rint(matplotlib.colormaps[colormap]([0.0, 1.0])[:, :3] * 255)).astype(int)
        assert bar.colours[0] == "#{:02x}{:02x}{:02x}".format(*first)
        assert bar.colours[-1] == "#{:02x}{:02x}{:02x}".format(*last)
    png = imaging.png_bytes(imaging.map_overlay(black, attribution, signed=True))
    np.testing.assert_array_equal(
        np.asarray(Image.open(io.BytesIO(png))), imaging.map_overlay(black, attribution, signed=True)
    )


def test_to_uint8_rounds_to_the_nearest_level_and_clips():
    pixels = np.array([-3.0, 0.4, 0.6, 127.5, 128.5, 254.6, 300.0, np.float32(255)], np.float32)
    assert imaging.to_uint8(pixels).tolist() == [0, 0, 1, 128, 128, 255, 255, 255]  # halves go to the even level
    assert imaging.to_uint8(pixels).dtype == np.uint8
