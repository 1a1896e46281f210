"""Typed results of the frozen face analysis."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# cv2.FaceRecognizerSF cosine threshold for "same person" (OpenCV Zoo's published value).
SAME_PERSON_THRESHOLD = 0.363


@dataclass(frozen=True)
class HeadPose:
    """Head rotation in degrees. yaw > 0: the head turns to its own left (towards image right);
    pitch > 0: the head tilts up; roll > 0: the head tilts clockwise in the image."""

    yaw: float
    pitch: float
    roll: float


@dataclass(frozen=True)
class FaceDetection:
    """One detected face in a photo.

    box: (4,) float32 x, y, w, h in pixels.
    landmarks: (5, 2) float32 pixels: right eye, left eye, nose tip, right and left mouth corner.
    """

    box: np.ndarray
    landmarks: np.ndarray
    score: float

    @property
    def size(self) -> float:
        """Side of the face box in pixels (the smaller of width and height)."""
        return float(min(self.box[2], self.box[3]))


@dataclass(frozen=True)
class FaceObservation:
    """Everything the models need to know about one reference face.

    crop: (S, S, 3) uint8 RGB, aligned by a similarity transform of the 5 landmarks to a
        canonical template (S = ``ALIGNED_CROP_SIZE``).
    embedding: (128,) float32, L2-normalised identity embedding (SFace).
    vertices: (478, 3) float32 dense face mesh in photo pixels; z shares the x scale and
        grows away from the camera (MediaPipe convention).
    """

    detection: FaceDetection
    crop: np.ndarray
    embedding: np.ndarray
    vertices: np.ndarray
    pose: HeadPose
    image_size: tuple[int, int]  # (height, width) of the photo
    quality: float  # 0..1 sharpness/size/score summary; low means a poor reference
    source: str | None = None  # the photo's path, when it came from a file
