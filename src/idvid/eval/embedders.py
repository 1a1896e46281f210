"""User-provided evaluation networks: ONNX face embedders (ArcFace, CurricularFace), an ONNX
feature extractor for FID, and dlib's ResNet face embedder when dlib is installed.

ONNX files run with onnxruntime when it is installed, else with OpenCV's dnn module (which
ships with the face extra), one image at a time so fixed-batch exports work too.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

from idvid.errors import ModelFileError
from idvid.face.align import align_face
from idvid.face.embed import l2_normalise
from idvid.face.observation import FaceDetection

# ArcFace-family recognisers take the 112 x 112 crop of the standard 5-point template.
FACE_INPUT_SIZE = 112


class OnnxRunner:
    """Runs an ONNX model with one input and takes its first output.

    backend: "auto" (onnxruntime if importable, else OpenCV dnn), "onnxruntime" or "opencv".
    """

    def __init__(self, path: str | os.PathLike, backend: str = "auto"):
        self.path = Path(path)
        if not self.path.is_file():
            raise ModelFileError(f"ONNX model not found: {self.path}")
        if backend == "auto":
            try:
                import onnxruntime  # noqa: F401

                backend = "onnxruntime"
            except ImportError:
                backend = "opencv"
        self.backend = backend
        self._lock = threading.Lock()
        try:
            if backend == "onnxruntime":
                import onnxruntime

                self._session = onnxruntime.InferenceSession(str(self.path), providers=["CPUExecutionProvider"])
                self._input = self._session.get_inputs()[0].name
            elif backend == "opencv":
                import cv2

                self._net = cv2.dnn.readNetFromONNX(str(self.path))
            else:
                raise ValueError(f"unknown ONNX backend {backend!r}")
        except (ImportError, ValueError):
            raise
        except Exception as exc:  # noqa: BLE001 - each backend raises its own type
            raise ModelFileError(f"{self.path} is not a loadable ONNX model ({_first_line(exc)})") from None

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        """batch: (N, C, H, W) float32 -> (N, D) float32 (first output, flattened per item)."""
        outputs = []
        for item in np.asarray(batch, dtype=np.float32):
            item = np.ascontiguousarray(item[None])
            with self._lock:
                if self.backend == "onnxruntime":
                    out = self._session.run(None, {self._input: item})[0]
                else:
                    self._net.setInput(item)
                    out = self._net.forward()
            outputs.append(np.asarray(out, dtype=np.float32).reshape(-1))
        return np.stack(outputs)


class OnnxFaceEmbedder:
    """A face-recognition network in ONNX: aligned 112 x 112 face -> L2-normalised embedding.

    Input convention (insightface ArcFace, CurricularFace): NCHW, RGB (``bgr=False``) or BGR,
    ``(pixel - mean) / std`` with mean = std = 127.5, i.e. [-1, 1].
    """

    def __init__(
        self,
        path: str | os.PathLike,
        input_size: int = FACE_INPUT_SIZE,
        mean: float = 127.5,
        std: float = 127.5,
        bgr: bool = False,
        backend: str = "auto",
    ):
        self.runner = OnnxRunner(path, backend)
        self.input_size, self.mean, self.std, self.bgr = input_size, mean, std, bgr

    def crop(self, image: np.ndarray, detection: FaceDetection) -> np.ndarray:
        """(H, W, 3) uint8 RGB + detection -> (S, S, 3) uint8 aligned crop at the net's size."""
        crop, _ = align_face(image, detection.landmarks, self.input_size)
        return crop

    def embed_crops(self, crops: np.ndarray) -> np.ndarray:
        """(N, S, S, 3) uint8 RGB aligned crops -> (N, D) float32 unit-norm embeddings."""
        crops = np.asarray(crops)
        if crops.ndim == 3:
            crops = crops[None]
        if crops.shape[1:3] != (self.input_size, self.input_size):
            raise ValueError(f"crops must be {self.input_size} x {self.input_size}, got {crops.shape[1:3]}")
        x = crops[..., ::-1] if self.bgr else crops
        x = (x.astype(np.float32) - self.mean) / self.std
        features = self.runner(x.transpose(0, 3, 1, 2))
        return np.stack([l2_normalise(f) for f in features])

    def __call__(self, image: np.ndarray, detection: FaceDetection) -> np.ndarray:
        """(H, W, 3) uint8 RGB + detection -> (D,) float32 unit-norm embedding."""
        return self.embed_crops(self.crop(image, detection)[None])[0]


class OnnxFeatureExtractor:
    """An image feature network in ONNX (FID): (N, S, S, 3) uint8 RGB -> (N, D) float64.

    Images are resized (bilinear) to ``input_size`` and fed NCHW RGB in [0, 1], as
    torchvision's InceptionV3 with ``transform_input=True`` expects.
    """

    def __init__(self, path: str | os.PathLike, input_size: int = 299, backend: str = "auto"):
        self.runner = OnnxRunner(path, backend)
        self.input_size = input_size

    def __call__(self, images: np.ndarray) -> np.ndarray:
        import cv2

        size = (self.input_size, self.input_size)
        batch = np.stack([cv2.resize(np.asarray(im), size, interpolation=cv2.INTER_LINEAR) for im in images])
        batch = batch.astype(np.float32).transpose(0, 3, 1, 2) / 255.0
        return self.runner(batch).astype(np.float64)


class DlibFaceEmbedder:
    """dlib's ResNet face descriptor (128-d, from ``face_recognition_models``) with dlib's
    5-point shape predictor. Unit-normalised here so the cosine compares like the other
    embedders (dlib's own rule is Euclidean distance < 0.6 on raw descriptors).

    It runs on aligned crops (ArcFace template, any size S): the face box given to the shape
    predictor is the template's face region, (0.14 S, 0.28 S) to (0.86 S, 1.0 S): where dlib's
    own HOG detector puts it on such crops (measured on the sample photos and their mirror
    images; descriptors from this box and from dlib's full pipeline agree to cosine 0.995).
    """

    BOX = (0.14, 0.28, 0.86, 1.0)

    def __init__(self):
        try:
            import dlib
            import face_recognition_models as frm
        except ImportError as exc:
            raise ImportError("dlib embeddings need: pip install dlib-bin face-recognition-models") from exc
        self._dlib = dlib
        self._shape = dlib.shape_predictor(frm.pose_predictor_five_point_model_location())
        self._net = dlib.face_recognition_model_v1(frm.face_recognition_model_location())
        self._lock = threading.Lock()

    def embed_aligned(self, crop: np.ndarray) -> np.ndarray:
        """(S, S, 3) uint8 RGB aligned crop -> (128,) float32 unit-norm descriptor."""
        crop = np.ascontiguousarray(crop)
        size = crop.shape[0]
        x0, y0, x1, y1 = (int(round(f * size)) for f in self.BOX)
        with self._lock:
            shape = self._shape(crop, self._dlib.rectangle(x0, y0, x1, y1))
            descriptor = self._net.compute_face_descriptor(crop, shape)
        return l2_normalise(np.asarray(descriptor))


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[-1] if text else type(exc).__name__
