"""Soft person mask: MediaPipe selfie segmentation, made sure to hold the whole head."""

from __future__ import annotations

import threading

import numpy as np

from idvid.face.landmarks import FACE_OVAL, LEFT_FACE_SIDE, RIGHT_FACE_SIDE
from idvid.native_logs import quiet_native_stderr
from idvid.render.ramps import smoothstep

_SEGMENTER = None
_SEGMENTER_LOCK = threading.Lock()


def _segmenter():
    """The shared SelfieSegmentation graph (building one is slow; calls are serialised)."""
    global _SEGMENTER
    with _SEGMENTER_LOCK:
        if _SEGMENTER is None:
            try:
                from mediapipe.python.solutions.selfie_segmentation import (
                    SelfieSegmentation,
                )
            except ImportError as exc:  # pragma: no cover - depends on the environment
                raise ImportError(
                    "mediapipe==0.10.21 is needed for the person mask; pip install 'idvid[face]'"
                ) from exc
            # model 1 = the "landscape" model: better on head-and-shoulders photos than model 0.
            # Built and run once quietly: MediaPipe's native start-up logs go to stderr.
            with quiet_native_stderr():
                _SEGMENTER = SelfieSegmentation(model_selection=1)
                _SEGMENTER.process(np.zeros((64, 64, 3), np.uint8))
    return _SEGMENTER


def raw_person_mask(image: np.ndarray) -> np.ndarray:
    """image: (H, W, 3) uint8 RGB -> (H, W) float32 person probability in [0, 1]."""
    segmenter = _segmenter()
    with _SEGMENTER_LOCK:
        result = segmenter.process(np.ascontiguousarray(image))
    return np.clip(result.segmentation_mask, 0.0, 1.0).astype(np.float32)


def head_hull_mask(
    shape: tuple[int, int], vertices: np.ndarray, solid: float = 0.015, fade: float = 0.04, rise: float = 0.08
) -> np.ndarray:
    """(H, W) float32 in [0, 1]: 1 on the face mesh's hull (its top raised by `rise` for the
    forehead and hairline) and up to `solid` beyond it, fading to 0 at `fade` beyond it
    (fractions of face height).

    Why so tight: the hull is a safety net for what the segmenter misses on the face; grown
    wide it would claim background beside thin hair as person."""
    import cv2

    oval = np.asarray(vertices, dtype=np.float32)[list(FACE_OVAL), :2]
    centre = oval.mean(axis=0)
    face_height = float(oval[:, 1].max() - oval[:, 1].min())
    raised = oval.copy()
    top = oval[:, 1] < centre[1]
    raised[top, 1] -= rise * face_height * (centre[1] - oval[top, 1]) / max(face_height / 2, 1e-6)
    outside = np.full(shape, 255, dtype=np.uint8)
    cv2.fillConvexPoly(outside, cv2.convexHull(np.round(raised).astype(np.int32)), 0)
    distance = cv2.distanceTransform(outside, cv2.DIST_L2, 3) / face_height
    return np.clip((fade - distance) / (fade - solid), 0.0, 1.0).astype(np.float32)


def head_top_mask(raw: np.ndarray, vertices: np.ndarray) -> np.ndarray:
    """raw: (H, W) segmentation probability; vertices: (478, 3) face mesh -> (H, W) float32
    {0, 1}: the convex hull of the probably-person pixels (raw > 0.3) of the head above eye
    level, within a face height either side of the face.

    Why convex: the top of a head, with its hair or hat, is; the segmenter's doubts there
    come out as holes and ragged bites, not as real concavities."""
    import cv2

    v = np.asarray(vertices, dtype=np.float32)
    oval = v[list(FACE_OVAL), :2]
    face_height = float(np.ptp(oval[:, 1]))
    eye_y = round(float(v[[RIGHT_FACE_SIDE, LEFT_FACE_SIDE], 1].mean()))
    centre_x = float(oval[:, 0].mean())
    height, width = raw.shape
    x0, x1 = int(max(0, centre_x - face_height)), int(min(width, centre_x + face_height))
    y0 = int(max(0, oval[:, 1].min() - 1.0 * face_height))
    zone = np.zeros((height, width), dtype=np.uint8)
    if eye_y <= y0 or x1 <= x0:
        return zone.astype(np.float32)
    zone[y0:eye_y, x0:x1] = raw[y0:eye_y, x0:x1] > 0.3
    # Only the part connected to the face (not a flag pole or a neighbour's head).
    seed = np.zeros_like(zone)
    cv2.fillConvexPoly(seed, cv2.convexHull(np.round(oval).astype(np.int32)), 1)
    count, labels = cv2.connectedComponents(zone | (seed * (np.arange(height)[:, None] < eye_y)).astype(np.uint8))
    if count <= 1:
        return zone.astype(np.float32)
    head = np.isin(labels, np.unique(labels[(seed > 0) & (labels > 0)]))
    points = np.argwhere(head & (zone > 0))[:, ::-1].astype(np.int32)
    out = np.zeros((height, width), dtype=np.uint8)
    if len(points) >= 3:
        cv2.fillConvexPoly(out, cv2.convexHull(points), 1)
        # Grow a little: the faint outermost rim of hair or hat is below the 0.3 cut.
        grow = max(1, round(0.02 * face_height))
        out = cv2.dilate(out, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
    out[eye_y:] = 0
    return out.astype(np.float32)


def person_mask(image: np.ndarray, vertices: np.ndarray | None = None) -> np.ndarray:
    """Refined soft person mask.

    image: (H, W, 3) uint8 RGB; vertices: optional (478, 3) face mesh in image pixels.
    Returns (H, W) float32 in [0, 1]: 1 on the person (head, hair, shoulders, body).
    """
    return segment_person(image, vertices)[0]


def segment_person(image: np.ndarray, vertices: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """-> (mask, unsure): the refined soft mask (see :func:`person_mask`) and an (H, W) bool
    map of where it is person only by inference (outside the face, the segmenter below 0.9),
    which the colour refinement may still take back.

    Steps: 1. segment; 2. sharpen the probability (the model's edges are wide and grey);
    3. union with the face hull and the convex top of the head (the segmenter is often
    unsure about part of the hair or a hat, which would turn patchy), keeping only the
    blob(s) touching the head; 4. feather the edge; 5. the face hull again, unfeathered.
    """
    import cv2

    height, width = image.shape[:2]
    # 1-2. probability -> a crisper matte (soft band kept for hair)
    raw = raw_person_mask(image)
    mask = smoothstep(0.25, 0.75, raw)
    scale = float(np.hypot(height, width))
    hull = np.zeros((height, width), dtype=np.float32)
    if vertices is not None:
        # Clothes have hard edges where the segmenter's probability ramps slowly (a busy
        # backdrop): below the neck, cut its ramp much tighter.
        v = np.asarray(vertices, dtype=np.float32)
        face_height = float(np.ptp(v[list(FACE_OVAL), 1]))
        body_from = float(v[list(FACE_OVAL), 1].max()) + 0.3 * face_height
        rows = smoothstep(body_from, body_from + 0.2 * face_height, np.arange(height, dtype=np.float32))[:, None]
        mask = mask + rows * (smoothstep(0.4, 0.6, raw) - mask)
        hull = head_hull_mask((height, width), vertices)
        head = np.maximum(hull, head_top_mask(raw, vertices))
        # 3. drop detached blobs (other people, stray false positives) away from this head
        mask = _keep_components_touching(np.maximum(mask, head), head > 0.5)
        scale = 4 * float(np.ptp(np.asarray(vertices)[list(FACE_OVAL), 1]))
    # 4. feather: a blur proportional to the person's size, not the photo's
    mask = cv2.GaussianBlur(mask, (0, 0), max(0.6, 0.004 * scale))
    # 5. the face must be inside, whatever the segmenter thought
    mask = np.clip(np.maximum(mask, hull), 0.0, 1.0).astype(np.float32)
    unsure = (raw < 0.9) & (hull < 0.5) & (mask > 0.0)
    return mask, unsure


def _keep_components_touching(mask: np.ndarray, seed: np.ndarray) -> np.ndarray:
    """mask: (H, W) float32; seed: (H, W) bool -> mask with the connected components of
    (mask > 0.5) that do not touch `seed` removed (their soft edges go with them)."""
    import cv2

    count, labels = cv2.connectedComponents((mask > 0.5).astype(np.uint8), connectivity=8)
    if count <= 2:
        return mask
    keep = np.unique(labels[seed & (labels > 0)])
    kept = np.isin(labels, keep)
    # Why dilate: keep the soft fringe around the kept blobs, which is below 0.5.
    kept = cv2.dilate(kept.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    return np.where(kept, mask, 0.0).astype(np.float32)

