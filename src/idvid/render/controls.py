"""Per-frame render controls, and a track of them as one (T, n_controls) array.

The motion model outputs exactly a :class:`ControlTrack` array whose columns are
:data:`CONTROL_NAMES`, in that order.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import astuple, dataclass, fields

import numpy as np


@dataclass(frozen=True)
class FrameControls:
    """What one frame shows, relative to the photo. All floats; the defaults change nothing.

    Head (added to the photo's own yaw, pitch and roll, see :class:`idvid.face.HeadPose`):
        yaw: degrees, > 0 turns the head to its own left (towards image right).
        pitch: degrees, > 0 tilts the head up (chin up).
        roll: degrees, > 0 tilts the head clockwise in the image.
        tx, ty: person shift as a fraction of the face height; > 0 is image right / down.
        scale: person size, 1 = as in the photo (> 1 is closer to the camera).
    Expression (0..1):
        smile: mouth corners out and up, cheeks up.
        mouth_open: jaw down; 1 is a wide-open "ah".
        blink: 1 = eyes closed.
        brow_raise: 1 = brows fully up; negative values (down to -1) frown.
    Camera (applied to the whole frame, person and scene):
        zoom: 1 = none, 1.5 = 50% closer; < 1 zooms out.
        pan_x, pan_y: camera shift as a fraction of the frame width / height; > 0 moves the
            camera right / down, so the picture content moves left / up.
    Light:
        light_gain: overall brightness factor, 1 = unchanged.
        light_warmth: -1 cool (blue) ... +1 warm (orange), 0 = neutral.
        light_dir: -1 light from the image left ... +1 from the image right, 0 = even; a soft
            shading gradient across the person.
    """

    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0
    tx: float = 0.0
    ty: float = 0.0
    scale: float = 1.0
    smile: float = 0.0
    mouth_open: float = 0.0
    blink: float = 0.0
    brow_raise: float = 0.0
    zoom: float = 1.0
    pan_x: float = 0.0
    pan_y: float = 0.0
    light_gain: float = 1.0
    light_warmth: float = 0.0
    light_dir: float = 0.0

    def to_array(self) -> np.ndarray:
        """-> (n_controls,) float32 in CONTROL_NAMES order."""
        return np.asarray(astuple(self), dtype=np.float32)

    @classmethod
    def from_array(cls, values: Sequence[float] | np.ndarray) -> FrameControls:
        """(n_controls,) values in CONTROL_NAMES order -> FrameControls."""
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        if values.shape[0] != len(CONTROL_NAMES):
            raise ValueError(f"expected {len(CONTROL_NAMES)} control values, got {values.shape[0]}")
        if not np.all(np.isfinite(values)):
            raise ValueError("control values must be finite")
        return cls(*(float(v) for v in values))


# Column order of ControlTrack arrays (the motion model's output layout).
CONTROL_NAMES: tuple[str, ...] = tuple(f.name for f in fields(FrameControls))
NEUTRAL = FrameControls()

# The range the renderer draws each bounded control in; the others are unbounded. Head angles
# (degrees): past these a 2D warp of one photo folds the far side of the face over itself.
# Expressions: fractions of the full movement (brow_raise < 0 frowns).
CONTROL_RANGES: dict[str, tuple[float, float]] = {
    "yaw": (-35.0, 35.0),
    "pitch": (-25.0, 25.0),
    "roll": (-30.0, 30.0),
    "smile": (0.0, 1.0),
    "mouth_open": (0.0, 1.0),
    "blink": (0.0, 1.0),
    "brow_raise": (-1.0, 1.0),
}


def clamp_control(name: str, value: float) -> float:
    """One control's value inside its CONTROL_RANGES range (unchanged for unbounded controls)."""
    low, high = CONTROL_RANGES.get(name, (-np.inf, np.inf))
    return float(np.clip(value, low, high))


def clamp_controls(values: np.ndarray) -> np.ndarray:
    """(T, n_controls) values -> a copy with every bounded control inside CONTROL_RANGES."""
    values = np.array(values, copy=True)
    for name, (low, high) in CONTROL_RANGES.items():
        column = CONTROL_NAMES.index(name)
        values[:, column] = np.clip(values[:, column], low, high)
    return values


def smooth_in_time(values: np.ndarray, sigma_frames: float) -> np.ndarray:
    """(T,) or (T, k) values smoothed along time by a Gaussian of ``sigma_frames`` (ends held)."""
    if sigma_frames < 0.5 or len(values) < 3:
        return values
    radius = int(3 * sigma_frames) + 1
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma_frames) ** 2)
    kernel /= kernel.sum()
    padded = np.pad(values, [(radius, radius)] + [(0, 0)] * (values.ndim - 1), mode="edge")
    return np.apply_along_axis(lambda column: np.convolve(column, kernel, mode="valid"), 0, padded)


class ControlTrack:
    """A clip's controls: ``values`` (T, n_controls) float32, columns named by CONTROL_NAMES."""

    names = CONTROL_NAMES

    def __init__(self, values: np.ndarray):
        values = np.asarray(values, dtype=np.float32)
        if values.ndim != 2 or values.shape[1] != len(CONTROL_NAMES):
            raise ValueError(
                f"a control track is (frames, {len(CONTROL_NAMES)}) with columns {CONTROL_NAMES}; "
                f"got shape {values.shape}"
            )
        if not np.all(np.isfinite(values)):
            raise ValueError("control track values must be finite")
        self.values = values

    @classmethod
    def neutral(cls, frames: int) -> ControlTrack:
        """A still track of `frames` neutral frames."""
        return cls(np.tile(NEUTRAL.to_array(), (frames, 1)))

    @classmethod
    def from_controls(cls, controls: Iterable[FrameControls]) -> ControlTrack:
        rows = [c.to_array() for c in controls]
        if not rows:
            raise ValueError("a control track needs at least one frame")
        return cls(np.stack(rows))

    def to_controls(self) -> list[FrameControls]:
        return [FrameControls.from_array(row) for row in self.values]

    def column(self, name: str) -> np.ndarray:
        """(T,) float32 view of one named control."""
        return self.values[:, CONTROL_NAMES.index(name)]

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def __getitem__(self, index: int) -> FrameControls:
        return FrameControls.from_array(self.values[index])

    def __iter__(self) -> Iterator[FrameControls]:
        return iter(self.to_controls())

    def __repr__(self) -> str:
        return f"ControlTrack(frames={len(self)}, controls={len(CONTROL_NAMES)})"
