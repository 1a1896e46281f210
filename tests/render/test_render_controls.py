"""FrameControls / ControlTrack: the motion model's (T, n_controls) layout and round trips."""

import subprocess
import sys
from dataclasses import fields

import numpy as np
import pytest

from idvid.render import CONTROL_NAMES, ControlTrack, FrameControls


def test_column_order_is_the_dataclass_order():
    assert CONTROL_NAMES == tuple(f.name for f in fields(FrameControls))
    assert CONTROL_NAMES[:6] == ("yaw", "pitch", "roll", "tx", "ty", "scale")
    assert len(set(CONTROL_NAMES)) == len(CONTROL_NAMES) == 16


def test_neutral_values():
    values = FrameControls().to_array()
    assert values.dtype == np.float32
    expected = {name: 0.0 for name in CONTROL_NAMES}
    expected.update(scale=1.0, zoom=1.0, light_gain=1.0)
    np.testing.assert_array_equal(values, [expected[n] for n in CONTROL_NAMES])


def test_array_round_trip():
    controls = FrameControls(yaw=12.5, blink=1.0, pan_x=-0.125, light_dir=0.375)  # float32-exact
    assert FrameControls.from_array(controls.to_array()) == controls
    with pytest.raises(ValueError, match="16 control values"):
        FrameControls.from_array([0.0] * 3)
    with pytest.raises(ValueError, match="finite"):
        FrameControls.from_array([np.nan] * 16)


def test_track_round_trip_and_columns():
    frames = [FrameControls(yaw=float(i), smile=i / 8) for i in range(5)]  # float32-exact values
    track = ControlTrack.from_controls(frames)
    assert track.values.shape == (5, len(CONTROL_NAMES)) and track.values.dtype == np.float32
    assert track.to_controls() == frames
    assert track[3] == frames[3] and len(track) == 5
    np.testing.assert_allclose(track.column("yaw"), [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(track.column("smile"), [0, 0.125, 0.25, 0.375, 0.5])
    neutral = ControlTrack.neutral(3)
    assert all(c == FrameControls() for c in neutral)


def test_track_rejects_bad_shapes():
    with pytest.raises(ValueError, match="columns"):
        ControlTrack(np.zeros((4, 5)))
    with pytest.raises(ValueError, match="columns"):
        ControlTrack(np.zeros(16))
    with pytest.raises(ValueError, match="at least one frame"):
        ControlTrack.from_controls([])


def test_clamp_controls_keeps_bounded_controls_in_range_and_leaves_the_rest():
    from idvid.render.controls import CONTROL_RANGES, clamp_control, clamp_controls

    wild = np.full((2, len(CONTROL_NAMES)), 99.0, dtype=np.float32)
    wild[1] = -99.0
    track = ControlTrack(clamp_controls(wild))
    assert (track.column("yaw").tolist(), track.column("pitch").tolist()) == ([35.0, -35.0], [25.0, -25.0])
    assert track.column("roll").tolist() == [30.0, -30.0]
    assert track.column("blink").tolist() == [1.0, 0.0] and track.column("brow_raise").tolist() == [1.0, -1.0]
    assert track.column("zoom").tolist() == [99.0, -99.0]  # unbounded: not clamped
    assert wild[0, 0] == 99.0  # the input is not modified
    assert clamp_control("smile", -0.5) == 0.0 and clamp_control("tx", -7.0) == -7.0
    assert set(CONTROL_RANGES) <= set(CONTROL_NAMES)


def test_import_is_light():
    code = (
        "import sys, idvid.render as r; r.FrameControls; r.ControlTrack; r.SceneSpec; "
        "print(sorted(m for m in ('mediapipe', 'torch', 'cv2') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
