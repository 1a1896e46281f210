"""Still images (previews, frame strips), written atomically like videos."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from idvid.atomic import atomic_output, check_output


def write_image(image: np.ndarray, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write an (H, W, 3) uint8 RGB image as PNG or JPEG; refuses to replace a file unless ``overwrite``."""
    from PIL import Image

    path = check_output(path, overwrite, (".png", ".jpg", ".jpeg"))
    with atomic_output(path, overwrite) as tmp:
        fmt = "PNG" if path.suffix.lower() == ".png" else "JPEG"
        Image.fromarray(np.ascontiguousarray(image)).save(tmp, format=fmt)
    return path
