"""Size buckets for idvid prepare: the default set, --buckets parsing, bucket choice, crop boxes."""

from __future__ import annotations

import numpy as np
import pytest

from idvid.cli import main
from idvid.data.crop_buckets import (
    check_buckets,
    choose_bucket,
    crop_box,
    crop_to_bucket,
    default_buckets,
    parse_buckets,
)
from idvid.errors import ConfigError


@pytest.mark.parametrize("size", [96, 128, 256])
def test_default_buckets_are_on_the_grid_with_about_the_same_pixels(size):
    buckets = default_buckets(size)
    assert buckets[0] == (size, size) and len(buckets) == 5
    assert check_buckets(buckets) == buckets
    for h, w in buckets:
        assert abs(h * w / size**2 - 1) < 0.15
        assert (w, h) in buckets  # every landscape shape has its portrait twin


def test_parse_buckets_and_one_line_errors():
    assert parse_buckets("128x128, 96X160,160x96") == ((128, 128), (96, 160), (160, 96))
    for text, words in (("96x", "HEIGHTxWIDTH"), ("97x160", "multiples of 16"), ("16x160", "at least 32"),
                        ("96x160,96x160", "repeated")):
        with pytest.raises(ConfigError, match=words) as caught:
            parse_buckets(text)
        assert "\n" not in str(caught.value)


def test_choose_bucket_by_aspect_ratio():
    buckets = default_buckets(128)
    assert choose_bucket(720, 1280, buckets) == (96, 160)
    assert choose_bucket(480, 640, buckets) == (112, 144)
    assert choose_bucket(1920, 1080, buckets) == (160, 96)
    assert choose_bucket(500, 520, buckets) == (128, 128)


def test_crop_box_largest_region_that_keeps_the_face_usable():
    # a big face: the frame limits the crop (full height of a 16:9 frame, 5:3 wide)
    x0, y0, w, h = crop_box(np.array([[600.0, 200, 300, 400]]), 720, 1280, (96, 160), face_fraction=0.4)
    assert (h, w, y0) == (720, 1200, 0) and x0 <= 600 and x0 + w >= 900
    # a small face: the crop shrinks so the face stays 40% of its height, centred on the face
    x0, y0, w, h = crop_box(np.array([[1000.0, 300, 60, 80], [1010, 300, 60, 80]]), 720, 1280, (96, 160), 0.4)
    assert (h, w) == (200, 333) and abs(x0 + w / 2 - 1035) <= 1 and abs(y0 + 0.45 * h - 340) <= 1
    # near the border: shifted inside the frame, not shrunk
    x0, y0, w, h = crop_box(np.array([[1250.0, 690, 30, 30]]), 720, 1280, (160, 96), 0.4)
    assert (x0 + w, y0 + h) == (1280, 720) and h == 75


def test_crop_to_bucket_shape():
    frames = np.random.default_rng(0).integers(0, 255, (2, 60, 100, 3), dtype=np.uint8)
    out = crop_to_bucket(frames, (10, 5, 80, 48), (48, 80))
    assert out.shape == (2, 48, 80, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, frames[:, 5:53, 10:90])  # same size: an exact cut


def test_prepare_command_rejects_bad_buckets(tmp_path, capsys):
    assert main(["prepare", str(tmp_path), str(tmp_path / "out"), "--buckets", "96x150"]) == 1
    err = capsys.readouterr().err
    assert "96x150" in err and "multiples of 16" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
