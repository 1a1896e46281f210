"""to_uint8 and frame_strip on constructed inputs, exact values."""

import numpy as np
import pytest

from idvid.video import frame_strip, to_uint8


def test_minus_one_one_exact():
    values = np.array([-2.0, -1.0, 0.0, 0.5, 1.0, 3.0], np.float32)
    video = np.broadcast_to(values[None, None, :, None], (1, 1, 6, 3)).copy()
    out = to_uint8(video)
    assert out.dtype == np.uint8 and out.shape == (1, 1, 6, 3)
    # -1 -> 0, 0 -> 127.5 -> 128, 0.5 -> 191.25 -> 191, 1 -> 255; outside clipped
    assert out[0, 0, :, 0].tolist() == [0, 0, 128, 191, 255, 255]


def test_zero_one_range_exact():
    video = np.array([0.0, 0.25, 0.5, 1.0], np.float32).reshape(1, 1, 4, 1).repeat(3, axis=3)
    assert to_uint8(video, value_range=(0, 1))[0, 0, :, 0].tolist() == [0, 64, 128, 255]


def test_tchw_is_transposed():
    video = np.zeros((2, 3, 4, 5), np.float32)  # T, C, H, W
    video[:, 0] = 1.0  # red channel full
    video[1, 2, 3, 4] = 1.0  # blue at t=1, y=3, x=4
    out = to_uint8(video)
    assert out.shape == (2, 4, 5, 3)
    assert (out[..., 0] == 255).all() and (out[..., 1] == 128).all()
    assert out[1, 3, 4, 2] == 255 and out[0, 3, 4, 2] == 128


def test_ambiguous_layout_needs_explicit_choice():
    video = np.zeros((2, 3, 5, 3), np.float32)
    with pytest.raises(ValueError, match="ambiguous"):
        to_uint8(video)
    assert to_uint8(video, layout="THWC").shape == (2, 3, 5, 3)
    assert to_uint8(video, layout="TCHW").shape == (2, 5, 3, 3)


def test_uint8_passthrough_and_bad_inputs():
    video = np.arange(2 * 3 * 2 * 2, dtype=np.uint8).reshape(2, 3, 2, 2)  # TCHW
    np.testing.assert_array_equal(to_uint8(video), video.transpose(0, 2, 3, 1))
    with pytest.raises(ValueError, match="NaN"):
        to_uint8(np.full((1, 2, 2, 3), np.nan, np.float32))
    with pytest.raises(ValueError, match="float or uint8"):
        to_uint8(np.zeros((1, 2, 2, 3), np.int64))
    with pytest.raises(ValueError, match="3 channels"):
        to_uint8(np.zeros((1, 4, 4, 4), np.float32))
    with pytest.raises(ValueError, match=r"shape \(4, 4, 3\)"):
        to_uint8(np.zeros((4, 4, 3), np.float32))
    with pytest.raises(ValueError, match="hi > lo"):
        to_uint8(np.zeros((1, 2, 2, 3), np.float32), value_range=(1, 1))


def test_torch_bfloat16_tensor():
    torch = pytest.importorskip("torch")
    video = torch.zeros(1, 3, 2, 2, dtype=torch.bfloat16)
    video[0, 1] = 1.0
    out = to_uint8(video)
    assert isinstance(out, np.ndarray) and out.shape == (1, 2, 2, 3)
    assert out[0, 0, 0].tolist() == [128, 255, 128]


def constant_frames(t: int, h: int, w: int) -> np.ndarray:
    """Frame i is filled with 10 * i."""
    values = 10 * np.arange(t, dtype=np.uint8)
    return np.broadcast_to(values[:, None, None, None], (t, h, w, 3)).copy()


def test_strip_samples_uniformly_exact():
    strip = frame_strip(constant_frames(10, 6, 4), n=4, height=6)
    assert strip.shape == (6, 16, 3) and strip.dtype == np.uint8
    # linspace(0, 9, 4) = 0, 3, 6, 9
    assert [int(strip[0, 4 * k, 0]) for k in range(4)] == [0, 30, 60, 90]
    np.testing.assert_array_equal(strip[:, 4:8], constant_frames(10, 6, 4)[3])


def test_strip_with_fewer_frames_than_n():
    strip = frame_strip(constant_frames(3, 4, 4), n=8, height=4)
    assert strip.shape == (4, 12, 3)
    assert [int(strip[0, 4 * k, 0]) for k in range(3)] == [0, 10, 20]


def test_strip_resizes_keeping_aspect():
    frames = constant_frames(5, 8, 12)
    strip = frame_strip(frames, n=2, height=4)
    assert strip.shape == (4, 12, 3)  # 12 * 4 / 8 = 6 wide per tile
    assert (strip[:, :6] == 0).all() and (strip[:, 6:] == 40).all()


def test_strip_rejects_float_and_bad_args():
    with pytest.raises(ValueError, match="to_uint8"):
        frame_strip(np.zeros((2, 4, 4, 3), np.float32))
    with pytest.raises(ValueError, match="n and height"):
        frame_strip(np.zeros((2, 4, 4, 3), np.uint8), n=0)
    with pytest.raises(ValueError, match="empty"):
        frame_strip(np.zeros((0, 4, 4, 3), np.uint8))
