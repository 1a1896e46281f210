"""Mesh measurements shared by the render tests (unique name: imported by tests)."""

import numpy as np


def eye_aspect(vertices: np.ndarray) -> float:
    """Mean eye opening over eye width of both eyes, from a 478-point mesh."""
    v = np.asarray(vertices)[:, :2]
    right = np.linalg.norm(v[159] - v[145]) / np.linalg.norm(v[33] - v[133])
    left = np.linalg.norm(v[386] - v[374]) / np.linalg.norm(v[263] - v[362])
    return float(right + left) / 2


def face_height(vertices: np.ndarray) -> float:
    v = np.asarray(vertices)[:, :2]
    return float(np.linalg.norm(v[10] - v[152]))
