"""Thin-plate spline interpolation of 2D vectors over the plane.

f(p) = A p + b + sum_i w_i U(|p - c_i|), U(r) = r^2 log r^2: the smoothest (least bending)
field through the values at the control points. Solving is O(N^3) for N controls (a few
hundred: ~1 ms); evaluating is one (M, N) kernel matrix product.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ThinPlateSpline:
    """A fitted spline. centres: (N, 2) normalised control points; weights: (N, D);
    affine: (3, D) rows for [1, x, y]; offset (2,), scale: the normalisation of inputs."""

    centres: np.ndarray
    weights: np.ndarray
    affine: np.ndarray
    offset: np.ndarray
    scale: float

    @classmethod
    def fit(
        cls, points: np.ndarray, values: np.ndarray, smoothing: np.ndarray | float = 0.0, scale: float | None = None
    ) -> ThinPlateSpline:
        """points: (N, 2) control positions; values: (N, D) values there;
        smoothing: scalar or (N,) per-point regulariser (0 = interpolate exactly; larger
        values let the spline pass near, not through, a point); scale: length unit for the
        normalisation (default: the points' spread), which smoothing is relative to."""
        points = np.asarray(points, dtype=np.float64)
        values = np.asarray(values, dtype=np.float64)
        n = points.shape[0]
        offset = points.mean(axis=0)
        if scale is None:
            scale = float(np.ptp(points, axis=0).max()) or 1.0
        centres = (points - offset) / scale
        kernel = _kernel(centres, centres)
        kernel[np.diag_indices(n)] += np.broadcast_to(np.asarray(smoothing, dtype=np.float64), (n,))
        poly = np.concatenate([np.ones((n, 1)), centres], axis=1)
        system = np.zeros((n + 3, n + 3))
        system[:n, :n] = kernel
        system[:n, n:] = poly
        system[n:, :n] = poly.T
        rhs = np.zeros((n + 3, values.shape[1]))
        rhs[:n] = values
        try:
            solution = np.linalg.solve(system, rhs)
        except np.linalg.LinAlgError:  # coincident controls: least squares still gives a field
            solution = np.linalg.lstsq(system, rhs, rcond=None)[0]
        return cls(
            centres.astype(np.float32),
            solution[:n].astype(np.float32),
            solution[n:].astype(np.float32),
            offset,
            float(scale),
        )

    def __call__(self, points: np.ndarray) -> np.ndarray:
        """points: (M, 2) -> (M, D) float32 spline values."""
        p = ((np.asarray(points, dtype=np.float64) - self.offset) / self.scale).astype(np.float32)
        kernel = _kernel(p, self.centres)
        # Why one matrix-vector product per output column: BLAS is several times faster at
        # (M, N) @ (N,) than at (M, N) @ (N, 2) here.
        out = np.stack([kernel @ self.weights[:, d] for d in range(self.weights.shape[1])], axis=1)
        out += self.affine[0] + p @ self.affine[1:]
        return out


def _kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a: (M, 2), b: (N, 2) -> (M, N) U(|a_i - b_j|) with U(r) = r^2 log r^2 (a's dtype)."""
    import cv2

    # |a|^2 + |b|^2 - 2 a.b as one (M, 4) @ (4, N) product, no (M, N, 2) difference array.
    lhs = np.concatenate([np.einsum("ij,ij->i", a, a)[:, None], np.ones((len(a), 1), a.dtype), a], axis=1)
    rhs = np.concatenate([np.ones((len(b), 1), b.dtype), np.einsum("ij,ij->i", b, b)[:, None], -2.0 * b], axis=1)
    r2 = lhs @ np.ascontiguousarray(rhs.T, dtype=a.dtype)
    if r2.dtype != np.float32:
        np.maximum(r2, 1e-12, out=r2)
        return r2 * np.log(r2)
    # Why OpenCV: its max and log are several times faster than numpy's on float32 here.
    r2 = cv2.max(r2, 1e-12)
    r2 *= cv2.log(r2)
    return r2
