"""Dense 478-point face mesh with MediaPipe Face Mesh, run on a crop around a detected face."""

from __future__ import annotations

import threading

import numpy as np

from idvid.errors import FaceError
from idvid.face.landmarks import NOSE_TIP  # YuNet's landmark 2 is the same point
from idvid.face.model_files import import_cv2
from idvid.face.observation import FaceDetection
from idvid.face.resample import warp_affine
from idvid.native_logs import quiet_native_stderr

MESH_POINTS = 478  # 468 face points + 2 x 5 iris points (refine_landmarks=True)
MESH_CROP_SCALE = 1.8  # crop side / face box side: room for forehead, chin and a head turn
MESH_CROP_SIZE = 320  # pixels the mesh model sees; its own face ROI is 192 px, so more is wasted


class FaceMesher:
    """Runs MediaPipe Face Mesh (static images, refined eyes and lips).

    One FaceMesh graph per instance (building it is slow). Thread-safe: ``process`` on the
    shared graph is serialised by a lock, so concurrent callers wait rather than corrupt it.
    """

    def __init__(self, crop_scale: float = MESH_CROP_SCALE, crop_size: int = MESH_CROP_SIZE):
        try:
            from mediapipe.python.solutions import face_mesh
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "mediapipe==0.10.21 is needed for the face mesh; install the face extra: pip install 'idvid[face]'"
            ) from exc
        self.crop_scale = crop_scale
        self.crop_size = crop_size
        # Two faces, so that a neighbour's face inside the crop cannot displace ours:
        # we keep the one whose nose matches the detection.
        with quiet_native_stderr():
            self._graph = face_mesh.FaceMesh(
                static_image_mode=True, max_num_faces=2, refine_landmarks=True, min_detection_confidence=0.5
            )
            # The graph starts its models on its own threads; one call waits for all of them, so
            # their start-up logs land inside this window rather than in the user's terminal.
            self._graph.process(np.zeros((64, 64, 3), np.uint8))
        self._lock = threading.Lock()
        self._chatty = True  # until the first face is found, native start-up logs are silenced

    def __call__(self, image: np.ndarray, detection: FaceDetection, source: str = "the photo") -> np.ndarray:
        """image: (H, W, 3) uint8 RGB -> (478, 3) float32 vertices in photo pixels.

        x, y are photo pixels; z is in the same pixel units as x, grows away from the camera,
        and is relative to the head centre (MediaPipe's convention).
        """
        crop, origin, side = self._crop(image, detection)
        with self._lock:
            if self._chatty:
                with quiet_native_stderr():
                    result = self._graph.process(crop)
                self._chatty = not result.multi_face_landmarks
            else:
                result = self._graph.process(crop)
        if not result.multi_face_landmarks:
            raise FaceError(
                f"the face mesh model found no face in {source} (the face may be turned too far or occluded)"
            )
        meshes = [_landmarks_to_array(face) for face in result.multi_face_landmarks]
        # normalised crop coordinates -> photo pixels; MediaPipe's z shares x's normalisation.
        meshes = [np.concatenate([origin + m[:, :2] * side, m[:, 2:] * side], axis=1) for m in meshes]
        nose = detection.landmarks[2]
        best = min(meshes, key=lambda m: float(np.linalg.norm(m[NOSE_TIP, :2] - nose)))
        return best.astype(np.float32)

    def _crop(self, image: np.ndarray, detection: FaceDetection) -> tuple[np.ndarray, np.ndarray, float]:
        """Square crop around the face, padded at the photo edges.

        Returns crop (C, C, 3) uint8 with C = crop_size, its top-left corner (2,) in photo
        pixels and its side in photo pixels.
        """
        cv2 = import_cv2()
        x, y, w, h = (float(v) for v in detection.box)
        side = self.crop_scale * max(w, h)
        x0, y0 = x + w / 2 - side / 2, y + h / 2 - side / 2
        scale = self.crop_size / side
        matrix = np.array([[scale, 0.0, -x0 * scale], [0.0, scale, -y0 * scale]])
        # Replicated edges: a hard black border next to the face can look like hair or a chin.
        crop = warp_affine(image, matrix, (self.crop_size, self.crop_size), border=cv2.BORDER_REPLICATE)
        return crop, np.array([x0, y0]), side

    def close(self) -> None:
        """Release the MediaPipe graph."""
        self._graph.close()


def _landmarks_to_array(face) -> np.ndarray:
    """MediaPipe NormalizedLandmarkList -> (478, 3) float64 normalised coordinates."""
    return np.array([(p.x, p.y, p.z) for p in face.landmark], dtype=np.float64)
