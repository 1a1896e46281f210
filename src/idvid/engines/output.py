"""What a generation returns."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from diffusers.utils import BaseOutput


@dataclass
class FrameStream:
    """Frames made one at a time as they are read, once: a long video goes to the encoder
    without ever being held whole, so memory stays flat in its length.

    shape: (T, H, W, 3) of the video the frames make; frames: yields (H, W, 3) uint8 RGB.
    """

    shape: tuple[int, int, int, int]
    frames: Iterable[np.ndarray]

    def __len__(self) -> int:
        return self.shape[0]

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter(self.frames)


@dataclass
class VideoOutput(BaseOutput):
    """frames: (T, H, W, 3) uint8 RGB, or a FrameStream of them; fps: playback rate."""

    frames: np.ndarray | FrameStream
    fps: float

    def save(self, path: str | Path, overwrite: bool = False) -> Path:
        """Write an H.264 mp4 atomically; refuses to replace a file unless ``overwrite``."""
        from idvid.video import write_video

        return write_video(self.frames, path, fps=self.fps, overwrite=overwrite)


def array_output(frames: np.ndarray, fps: float, output_type: str) -> VideoOutput:
    """A finished (T, H, W, 3) uint8 video as ``output_type`` "np", or "stream" (for callers that
    write any engine's output the same way)."""
    if output_type == "stream":
        return VideoOutput(frames=FrameStream(frames.shape, iter(frames)), fps=fps)
    return VideoOutput(frames=frames, fps=fps)
