"""Read video files into RGB frames.

Only the first video stream is decoded; audio and other streams are skipped. Frames
come out upright: the display rotation stored in the container (phone videos shot in
portrait carry one) is applied, in multiples of 90 degrees. Mirror flags in the
display matrix are not applied.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from idvid.errors import VideoError


@dataclass(frozen=True, eq=False)
class VideoClip:
    """Decoded frames and their rate.

    Attributes:
        frames: ``(T, H, W, 3)`` uint8 RGB, upright (display rotation applied).
        fps: frames per second, from the stream's average frame rate.
    """

    frames: np.ndarray
    fps: float

    @property
    def num_frames(self) -> int:
        return self.frames.shape[0]

    @property
    def size(self) -> tuple[int, int]:
        """``(height, width)`` of the frames."""
        return self.frames.shape[1], self.frames.shape[2]

    @property
    def duration(self) -> float:
        """Seconds: ``num_frames / fps``."""
        return self.num_frames / self.fps


def read_video(path: str | os.PathLike, max_frames: int | None = None) -> VideoClip:
    """Decode the first video stream of ``path``.

    Args:
        path: any container and codec FFmpeg reads (mp4, mov, mkv, webm, ...).
        max_frames: stop after this many frames (>= 1); None reads them all.

    Returns:
        A :class:`VideoClip` with ``(T, H, W, 3)`` uint8 RGB frames, ``T >= 1``.

    Raises:
        VideoError: the file is missing, empty, corrupt, has no video stream, or no
            frame could be decoded.
    """
    path = Path(path)
    _check_max_frames(max_frames)
    with open_video(path) as (container, stream):
        fps = frame_rate(stream, path)
        frames = list(_decode(container, stream, path, max_frames))
    return VideoClip(frames=np.stack(frames), fps=fps)


def iter_frames(path: str | os.PathLike, max_frames: int | None = None) -> Iterator[np.ndarray]:
    """Yield the frames of ``path`` one at a time as ``(H, W, 3)`` uint8 RGB arrays.

    For long videos that should not be held in memory at once. A generator: errors
    (:class:`VideoError`, as in :func:`read_video`) surface on the first ``next()``.
    The file is closed when the generator finishes or is closed.
    """
    path = Path(path)
    _check_max_frames(max_frames)
    with open_video(path) as (container, stream):
        yield from _decode(container, stream, path, max_frames)


@contextmanager
def open_video(path: Path):
    """Open ``path`` and yield ``(container, first video stream)``; closes on exit."""
    import av

    _check_file(path)
    try:
        container = av.open(str(path), mode="r")
    except (av.error.FFmpegError, OSError) as e:
        raise VideoError(f"{path}: not a readable video ({error_reason(e)})") from None
    try:
        if not container.streams.video:
            raise VideoError(f"{path} has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        yield container, stream
    finally:
        container.close()


def _check_file(path: Path) -> None:
    if not path.exists():
        raise VideoError(f"{path}: no such file")
    if not path.is_file():
        raise VideoError(f"{path} is not a file")
    if path.stat().st_size == 0:
        raise VideoError(f"{path} is empty")


def _check_max_frames(max_frames: int | None) -> None:
    if max_frames is None:
        return
    if isinstance(max_frames, bool) or not isinstance(max_frames, int) or max_frames < 1:
        raise ValueError(f"max_frames must be an integer >= 1 or None, got {max_frames!r}")


def frame_rate(stream, path: Path) -> float:
    """Frames per second: the average rate, else FFmpeg's guess, else the base rate."""
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    if not rate:
        raise VideoError(f"{path}: video stream has no frame rate")
    return float(rate)


def stream_seconds(container, stream) -> float | None:
    """A stream's length from the header: its own duration, else the container's (None: neither)."""
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000
    return None


def _decode(container, stream, path: Path, max_frames: int | None) -> Iterator[np.ndarray]:
    """Yield upright ``(H, W, 3)`` uint8 RGB frames; VideoError if none decode."""
    import av

    count = 0
    try:
        for frame in container.decode(stream):
            yield _upright(frame.to_ndarray(format="rgb24"), getattr(frame, "rotation", 0))
            count += 1
            if count == max_frames:
                return
    except av.error.FFmpegError as e:
        raise VideoError(f"{path}: corrupt video after {count} frames ({error_reason(e)})") from None
    if count == 0:
        raise VideoError(f"{path}: no video frames could be decoded")


def _upright(image: np.ndarray, rotation: float) -> np.ndarray:
    """Apply a display rotation to ``(H, W, 3)``.

    ``rotation`` is PyAV's ``VideoFrame.rotation``: degrees counter-clockwise, in
    [-180, 180], rounded here to the nearest multiple of 90. A 90 or -90 rotation
    returns ``(W, H, 3)``.
    """
    k = round((rotation or 0) / 90) % 4
    return image if k == 0 else np.ascontiguousarray(np.rot90(image, k))


def error_reason(error: Exception) -> str:
    """A short one-line reason from an FFmpeg or OS error."""
    return str(getattr(error, "strerror", None) or error).splitlines()[0]
