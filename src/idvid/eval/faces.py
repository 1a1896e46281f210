"""Per-frame face analysis for the metrics, and the mesh geometry they share.

A generated frame is analysed like a photo, with one difference: the face is the largest
detected one (ConsisID's protocol) and a frame without a face is a miss, not an error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from idvid.errors import FaceError
from idvid.face.align import ALIGNED_CROP_SIZE, align_face
from idvid.face.detect import largest_face
from idvid.face.landmarks import interocular
from idvid.face.observation import FaceDetection, HeadPose


@dataclass(frozen=True)
class FrameMesh:
    """The dense mesh of a frame's largest face: vertices (478, 3) float32 frame pixels and pose."""

    frame_index: int
    vertices: np.ndarray
    pose: HeadPose


@dataclass(frozen=True)
class FrameFace:
    """The largest face of one video frame.

    frame_index: index of the frame in the video.
    detection: its YuNet detection (box, 5 landmarks, score) in frame pixels.
    crop: (224, 224, 3) uint8 RGB aligned crop (same template as the reference crops).
    embedding: (128,) float32 unit-norm SFace embedding (taken upright, see FaceAnalyzer.embed).
    mesh: its dense mesh and pose, or None when the mesh model rejects the face.
    """

    frame_index: int
    detection: FaceDetection
    crop: np.ndarray
    embedding: np.ndarray
    mesh: FrameMesh | None


def analyze_frame(analyzer, frame: np.ndarray, frame_index: int) -> FrameFace | None:
    """Detect, align, mesh and embed the largest face of ``frame`` (H, W, 3) uint8; None if none."""
    chosen = largest_face(analyzer.detect(frame))
    if chosen is None:
        return None
    crop, _ = align_face(frame, chosen.landmarks, ALIGNED_CROP_SIZE)
    mesh = mesh_face(analyzer, frame, chosen, frame_index)
    embedding = analyzer.embed(frame, chosen, roll=0.0 if mesh is None else mesh.pose.roll)
    return FrameFace(frame_index=frame_index, detection=chosen, crop=crop, embedding=embedding, mesh=mesh)


def mesh_face(analyzer, frame: np.ndarray, face: FaceDetection, frame_index: int) -> FrameMesh | None:
    """The dense mesh and head pose of a detected face; None if the mesh model finds no face."""
    from idvid.face.pose import head_pose

    try:
        vertices = analyzer.mesher(frame, face, f"frame {frame_index}")
    except FaceError:
        return None
    return FrameMesh(frame_index=frame_index, vertices=vertices, pose=head_pose(vertices))


# ---- mesh geometry ------------------------------------------------------------------------


def normalised_mesh(vertices: np.ndarray) -> np.ndarray:
    """(N, 3) mesh centred on its centroid and divided by its inter-ocular distance."""
    v = np.asarray(vertices, dtype=np.float64)
    return (v - v.mean(axis=0)) / interocular(v)


def procrustes_residual(vertices: np.ndarray, reference: np.ndarray) -> float:
    """Non-rigid difference between two meshes of the same topology.

    Aligns ``vertices`` (N, 3) to ``reference`` (N, 3) with the least-squares similarity
    transform (rotation, uniform scale, translation; Umeyama, no reflection) and returns the
    mean per-vertex distance of the aligned mesh to the reference, divided by the
    reference's inter-ocular distance. 0 for a rigidly moved (or scaled) copy.
    """
    src = np.asarray(vertices, dtype=np.float64)
    dst = np.asarray(reference, dtype=np.float64)
    src_c, dst_c = src - src.mean(0), dst - dst.mean(0)
    u, s, vt = np.linalg.svd(dst_c.T @ src_c / len(src))
    d = np.eye(3)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[2, 2] = -1.0
    rotation = u @ d @ vt
    scale = np.trace(np.diag(s) @ d) / max(src_c.var(0).sum(), 1e-12)
    aligned = scale * src_c @ rotation.T
    return float(np.linalg.norm(aligned - dst_c, axis=1).mean() / interocular(dst))


def motion_from_reference(vertices: np.ndarray, reference: np.ndarray) -> float:
    """FM-ref of one frame: mean vertex distance between the two meshes after each is centred
    and scaled to unit inter-ocular distance (:func:`normalised_mesh`). Keeps rotation and
    expression, drops position and size (the photo and the video do not share a frame)."""
    return float(np.linalg.norm(normalised_mesh(vertices) - normalised_mesh(reference), axis=1).mean())


def motion_between(previous: np.ndarray, current: np.ndarray) -> float:
    """FM-inter of one frame pair: mean vertex displacement between two meshes of the same
    video (translation included), divided by their mean inter-ocular distance."""
    a = np.asarray(previous, dtype=np.float64)
    b = np.asarray(current, dtype=np.float64)
    scale = 0.5 * (interocular(a) + interocular(b))
    return float(np.linalg.norm(b - a, axis=1).mean() / scale)


# ---- image similarity -----------------------------------------------------------------------


def ssim_gray(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM of two same-size RGB uint8 images, on their luma (BT.601 grey).

    Wang et al. 2004 with the usual constants: Gaussian window sigma 1.5 (11 x 11),
    K1 = 0.01, K2 = 0.03, L = 255, Gaussian-weighted (biased) covariances; the mean is over the pixels whose
    window lies inside the image (as ``skimage.metrics.structural_similarity`` with
    ``gaussian_weights=True, use_sample_covariance=False, data_range=255``).
    """
    import cv2

    if a.shape != b.shape:
        raise ValueError(f"SSIM needs images of one shape, got {a.shape} and {b.shape}")
    x = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY).astype(np.float64)
    y = cv2.cvtColor(b, cv2.COLOR_RGB2GRAY).astype(np.float64)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(img):
        return cv2.GaussianBlur(img, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)

    mx, my = blur(x), blur(y)
    vx = blur(x * x) - mx * mx
    vy = blur(y * y) - my * my
    cxy = blur(x * y) - mx * my
    ssim = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    pad = 5  # half the window: drop the border, where the window leaves the image
    return float(ssim[pad:-pad, pad:-pad].mean())
