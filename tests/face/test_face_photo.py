"""load_photo: every way a photo can be broken gives one clear ImageError; odd formats load right."""

from __future__ import annotations

import io
import struct
import time
import zlib

import numpy as np
import pytest
from PIL import Image

from idvid.errors import ImageError
from idvid.face import load_photo
from idvid.face.photo import array_to_rgb


def _png_with_header(width: int, height: int) -> bytes:
    """A syntactically valid 1-bit grey PNG that *claims* width x height (pixel data is a stub)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00")) + chunk(b"IEND", b"")


# ---- broken inputs -------------------------------------------------------------------------


def test_missing_file(tmp_path):
    path = tmp_path / "nope.jpg"
    with pytest.raises(ImageError, match="not found: .*nope.jpg"):
        load_photo(path)


def test_directory_is_not_a_photo(tmp_path):
    with pytest.raises(ImageError, match="not a file"):
        load_photo(tmp_path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(ImageError, match="empty.jpg is empty"):
        load_photo(str(path))


def test_text_file_named_png(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("this is not a picture\n")
    with pytest.raises(ImageError, match="notes.png is not an image"):
        load_photo(path)


def test_random_bytes(tmp_path):
    path = tmp_path / "noise.jpg"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(ImageError, match="noise.jpg"):
        load_photo(path)


def test_truncated_jpeg(tmp_path, astronaut_path):
    data = astronaut_path.read_bytes()
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match="cut.jpg is truncated or corrupt"):
        load_photo(path)


def test_corrupt_png_body(tmp_path):
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (10, 20, 30)).save(buffer, format="PNG")
    data = bytearray(buffer.getvalue())
    data[60:80] = b"\xff" * 20  # inside the IDAT stream
    path = tmp_path / "bad.png"
    path.write_bytes(bytes(data))
    with pytest.raises(ImageError, match="bad.png"):
        load_photo(path)


@pytest.mark.parametrize("side", [8000, 50000])
def test_huge_header_refused_before_decoding(tmp_path, side):
    # 8000^2 = 64 Mpx trips our limit; 50000^2 also trips Pillow's decompression-bomb guard.
    path = tmp_path / f"huge{side}.png"
    path.write_bytes(_png_with_header(side, side))
    start = time.perf_counter()
    with pytest.raises(ImageError, match=f"huge{side}.png is .*(Mpx|too large)"):
        load_photo(path)
    assert time.perf_counter() - start < 0.5  # nothing was decoded


def test_max_pixels_is_configurable(astronaut_path):
    with pytest.raises(ImageError, match="astronaut.jpg is 512x512 .* over the 0.1 Mpx limit"):
        load_photo(astronaut_path, max_pixels=100_000)


def test_too_small(tmp_path):
    path = tmp_path / "tiny.png"
    Image.new("RGB", (20, 40)).save(path)
    with pytest.raises(ImageError, match="tiny.png is 20x40"):
        load_photo(path)


def test_unsupported_source_type():
    with pytest.raises(ImageError, match="cannot read a photo from a int"):
        load_photo(42)


# ---- arrays --------------------------------------------------------------------------------


def test_uint8_array_round_trips(astronaut):
    out = load_photo(astronaut)
    assert out.dtype == np.uint8 and out.shape == (512, 512, 3)
    np.testing.assert_array_equal(out, astronaut)


def test_float_and_gray_arrays(astronaut):
    np.testing.assert_array_equal(array_to_rgb(astronaut / 255.0), astronaut)
    gray = astronaut[..., 1]
    out = array_to_rgb(gray)
    assert out.shape == (512, 512, 3)
    np.testing.assert_array_equal(out[..., 0], gray)
    np.testing.assert_array_equal(out[..., 2], gray)


def test_rgba_array_composites_on_grey():
    rgba = np.zeros((40, 40, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[:20, :, 3] = 255  # top half opaque red, bottom half fully transparent
    out = array_to_rgb(rgba)
    np.testing.assert_array_equal(out[0, 0], [255, 0, 0])
    np.testing.assert_array_equal(out[-1, -1], [128, 128, 128])


@pytest.mark.parametrize(
    "array, message",
    [
        (np.full((40, 40, 3), 2.0), r"float images must lie in \[0, 1\]"),
        (np.full((40, 40, 3), np.nan), "NaN"),
        (np.zeros((40, 40, 2), np.uint8), "shape"),
        (np.zeros((40, 40, 3), np.int64), "dtype int64"),
    ],
)
def test_bad_arrays(array, message):
    with pytest.raises(ImageError, match=message):
        load_photo(array)


# ---- formats and modes ---------------------------------------------------------------------


def test_16bit_grey_png_is_scaled_not_clipped(tmp_path, astronaut):
    gray8 = np.asarray(Image.fromarray(astronaut).convert("L"))
    path = tmp_path / "gray16.png"
    Image.fromarray(gray8.astype(np.uint16) * 257).save(path)
    assert Image.open(path).mode.startswith("I;16")
    out = load_photo(path)
    np.testing.assert_array_equal(out[..., 0], gray8)


def test_32bit_integer_mode_is_scaled(astronaut):
    gray8 = np.asarray(Image.fromarray(astronaut).convert("L")).astype(np.int32)
    out = load_photo(Image.fromarray(gray8 * 257, mode="I"))
    np.testing.assert_array_equal(out[..., 0], gray8)


def test_palette_with_transparency_goes_grey(tmp_path):
    image = Image.new("P", (64, 64), 0)
    image.putpalette([0, 0, 0, 200, 30, 30] + [0] * 762)
    image.paste(1, (0, 0, 32, 64))
    path = tmp_path / "pal.png"
    image.save(path, transparency=0)
    out = load_photo(path)
    np.testing.assert_array_equal(out[0, 0], [200, 30, 30])
    np.testing.assert_array_equal(out[0, 63], [128, 128, 128])  # transparent: grey, not black


def test_la_image(tmp_path):
    image = Image.new("LA", (64, 64), (255, 0))
    out = load_photo(image)
    np.testing.assert_array_equal(out[5, 5], [128, 128, 128])


def test_cmyk_jpeg(tmp_path, astronaut):
    path = tmp_path / "cmyk.jpg"
    Image.fromarray(astronaut).convert("CMYK").save(path, quality=95)
    assert Image.open(path).mode == "CMYK"
    out = load_photo(path)
    assert out.shape == astronaut.shape
    assert np.abs(out.astype(int) - astronaut).mean() < 3


def test_exif_orientation_applied(tmp_path, astronaut):
    # Pixels stored rotated 90 degrees counter-clockwise; Orientation 6 says "rotate 90 clockwise".
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(np.rot90(astronaut)).save(path, quality=95, exif=exif)
    out = load_photo(path)
    assert out.shape == astronaut.shape
    assert np.abs(out.astype(int) - astronaut).mean() < 3
