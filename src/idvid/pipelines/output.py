"""What a generation returns."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from diffusers.utils import BaseOutput


@dataclass
class VideoOutput(BaseOutput):
    """frames: (T, H, W, 3) uint8 RGB; fps: playback rate the video is meant for."""

    frames: np.ndarray
    fps: int

    def save(self, path: str | Path, overwrite: bool = False) -> Path:
        """Write an H.264 mp4 atomically; refuses to replace a file unless ``overwrite``."""
        from idvid.video import write_video

        return write_video(self.frames, path, fps=self.fps, overwrite=overwrite)
