"""Relighting as cheap per-pixel gains: overall gain, colour warmth, a soft side gradient."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Channel gains at warmth +1 (warm: more red, less blue) and -1 (cool: the reverse).
WARM = np.array([1.12, 1.0, 0.8], dtype=np.float32)
COOL = np.array([0.84, 0.96, 1.16], dtype=np.float32)
SIDE_CONTRAST = 0.25  # brightness difference between the lit and the shaded side at |direction| = 1


@dataclass(frozen=True)
class Light:
    """gain: brightness factor (1 = unchanged); warmth: -1 cool ... +1 warm;
    direction: -1 lit from the image left ... +1 from the right (0 = even)."""

    gain: float = 1.0
    warmth: float = 0.0
    direction: float = 0.0

    def then(self, other: Light) -> Light:
        """This light modified by another (gains multiply, warmth and direction add, clipped)."""
        return Light(
            self.gain * other.gain,
            float(np.clip(self.warmth + other.warmth, -1.0, 1.0)),
            float(np.clip(self.direction + other.direction, -1.0, 1.0)),
        )

    def channel_gains(self) -> np.ndarray:
        """(3,) float32 RGB multipliers for gain and warmth."""
        w = float(np.clip(self.warmth, -1.0, 1.0))
        tint = 1.0 + abs(w) * ((WARM if w > 0 else COOL) - 1.0)
        return (max(float(self.gain), 0.0) * tint).astype(np.float32)


def side_ramp(size: tuple[int, int], centre_x: float, half_width: float) -> np.ndarray:
    """(H, W) float32 in [-1, 1]: -1 left of the subject, +1 right, smooth across it.
    centre_x: the subject's centre column; half_width: pixels over which the ramp turns."""
    height, width = size
    x = (np.arange(width, dtype=np.float32) - centre_x) / max(half_width, 1.0)
    ramp = np.tanh(x)  # soft, saturating: a broad light falloff, not a hard edge
    return np.ascontiguousarray(np.broadcast_to(ramp[None, :], (height, width)))


def side_shading(direction: float, ramp: np.ndarray) -> np.ndarray:
    """direction: -1 (lit from the left) .. +1 (from the right); ramp: from :func:`side_ramp`
    -> same-shape float32 brightness factor, 1 +- SIDE_CONTRAST / 2 at the far sides."""
    strength = np.float32(0.5 * SIDE_CONTRAST * float(np.clip(direction, -1.0, 1.0)))
    return 1.0 + strength * ramp
