"""ArcFace identity embeddings from ConsisID's ``glintr100.onnx`` (antelopev2's recogniser),
run with onnxruntime on the CPU or, where its CUDA build is installed, the GPU.

InsightFace's preprocessing, kept because the checkpoint was trained with it: the face warped
to the 112 px ArcFace template by the least-squares similarity of its five landmarks, black
outside the photo, RGB, ``(x - 127.5) / 127.5`` — unless the graph starts by normalising
itself (MXNet exports: Sub and Mul among its first nodes), then raw pixels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from idvid.errors import ModelFileError
from idvid.face.align import ARCFACE_TEMPLATE_112, similarity_matrix

INPUT_SIZE = 112
# insightface keeps the template in float32; the same rounding gives the same warp, pixel for pixel
TEMPLATE = ARCFACE_TEMPLATE_112.astype(np.float32)
INSTALL_HINT = "ConsisID's face encoder needs onnxruntime and onnx: pip install 'idvid[consisid]'"


def _onnx_modules():
    try:
        import onnx
        import onnxruntime
    except ImportError as err:
        raise ModelFileError(f"{INSTALL_HINT} ({err})") from None
    return onnx, onnxruntime


class ArcFace:
    """An ArcFace ONNX graph (file or serialized bytes) -> raw (unnormalised) 512-d embeddings."""

    def __init__(self, model: Path | bytes, device: str = "cpu"):
        onnx, onnxruntime = _onnx_modules()
        self.model_bytes = model if isinstance(model, bytes) else Path(model).read_bytes()
        graph = onnx.load_from_string(self.model_bytes).graph
        first = [node.name for node in graph.node[:8]]
        normalises_itself = (any(n.startswith(("Sub", "_minus")) for n in first)
                             and any(n.startswith(("Mul", "_mul")) for n in first))
        self.mean, self.std = (0.0, 1.0) if normalises_itself else (127.5, 127.5)
        providers = ["CPUExecutionProvider"]
        if device.startswith("cuda") and "CUDAExecutionProvider" in onnxruntime.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        self.session = onnxruntime.InferenceSession(self.model_bytes, providers=providers)
        self.input_name = self.session.get_inputs()[0].name

    def embed(self, photo: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """photo: (H, W, 3) uint8 RGB; landmarks: (5, 2) pixels in YuNet/ArcFace order -> (512,) float32."""
        import cv2

        matrix = similarity_matrix(np.asarray(landmarks, np.float32), TEMPLATE)
        crop = cv2.warpAffine(photo, matrix, (INPUT_SIZE, INPUT_SIZE), borderValue=0.0)
        blob = ((crop.astype(np.float32) - self.mean) / self.std).transpose(2, 0, 1)[None]
        return self.session.run(None, {self.input_name: np.ascontiguousarray(blob)})[0][0]


__all__ = ["ArcFace", "INSTALL_HINT"]
