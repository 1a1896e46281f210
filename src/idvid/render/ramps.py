"""The smooth 0 -> 1 ramp the renderer's masks and blends fade with."""

from __future__ import annotations

import numpy as np


def smoothstep(low, high, x: np.ndarray) -> np.ndarray:
    """Hermite ramp: 0 at or below ``low``, 1 at or above ``high``, smooth in between (``high``
    may be below ``low`` for a falling ramp; either bound may be an array). Keeps x's float dtype."""
    t = np.clip((x - low) / (np.asarray(high) - np.asarray(low)), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)
