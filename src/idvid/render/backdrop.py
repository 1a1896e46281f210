"""The user's own background behind the person: a still image, or a video that loops.

Each backdrop gives the frame behind the person at time ``t``, already at the output size
(scaled to cover it, centred, the overflow cropped). :func:`matching_light` relights the person
to the backdrop: brighter or darker, warmer or cooler than the photo's own background was, and
lit from the side of the backdrop that is brighter.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from idvid.render.lighting import Light

LUMA = np.array([0.2126, 0.7152, 0.0722], np.float32)  # Rec. 709
# How far the person's light follows the backdrop: limits that keep a face a face on a black
# or a white backdrop.
GAIN_RANGE, WARMTH_LIMIT, DIRECTION_LIMIT = (0.7, 1.25), 0.6, 0.6


def is_image(path: str | Path) -> bool:
    """Whether ``path`` names an image (by the extensions Pillow reads), not a video."""
    from PIL import Image

    return Path(path).suffix.lower() in Image.registered_extensions()


def cover(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(h, w, 3) uint8 scaled to cover (H, W) and centre-cropped to it."""
    import cv2

    height, width = size
    scale = max(height / image.shape[0], width / image.shape[1])
    scaled_size = (max(width, round(image.shape[1] * scale)), max(height, round(image.shape[0] * scale)))
    scaled = cv2.resize(image, scaled_size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    top, left = (scaled.shape[0] - height) // 2, (scaled.shape[1] - width) // 2
    return np.ascontiguousarray(scaled[top:top + height, left:left + width])


class ImageBackdrop:
    def __init__(self, image: np.ndarray, size: tuple[int, int]):
        self.still = cover(image, size)

    def frame(self, t: float) -> np.ndarray:
        return self.still


class VideoBackdrop:
    """A video read as the frames are drawn (never held whole), from its start again at its end.
    Times must not go backwards (frames are drawn in order)."""

    def __init__(self, path: str | Path, size: tuple[int, int]):
        from idvid.video.reader import frame_rate, open_video

        self.path, self.size = Path(path), size
        with open_video(self.path) as (_, stream):
            self.fps = frame_rate(stream, self.path)
        self._frames, self._read, self._loop_start, self._current = None, 0, 0.0, None

    def frame(self, t: float) -> np.ndarray:
        while self._current is None or (self._loop_start + self._read / self.fps) <= t:
            self._advance()
        return self._current

    def _advance(self) -> None:
        from idvid.video.reader import iter_frames

        if self._frames is None:
            self._frames = iter_frames(self.path)
        try:
            image = next(self._frames)
        except StopIteration:  # loop: the next frame is the first one again
            self._loop_start += self._read / self.fps
            self._frames, self._read = iter_frames(self.path), 0
            image = next(self._frames)
        self._read += 1
        self._current = cover(image, self.size)


def open_backdrop(path: str | Path, size: tuple[int, int]) -> ImageBackdrop | VideoBackdrop:
    """The backdrop in ``path`` at ``size``; ImageError / VideoError (one line) when unreadable."""
    if not Path(path).is_file():
        from idvid.errors import ImageError

        raise ImageError(f"background not found: {path}")
    if is_image(path):
        from idvid.face import load_photo

        return ImageBackdrop(load_photo(path), size)
    return VideoBackdrop(path, size)


def matching_light(backdrop: np.ndarray, plate: np.ndarray) -> Light:
    """The light that moves a person lit like their photo's background (``plate``) to one lit like
    ``backdrop`` (both (h, w, 3) uint8 RGB)."""
    new, old = (image.reshape(-1, 3).astype(np.float32).mean(0) for image in (backdrop, plate))
    gain = float(np.clip(np.sqrt((new @ LUMA + 20) / (old @ LUMA + 20)), *GAIN_RANGE))
    warmth = float(np.clip(((new[0] - new[2]) - (old[0] - old[2])) / 120, -WARMTH_LIMIT, WARMTH_LIMIT))
    luma = backdrop.astype(np.float32) @ LUMA
    half = luma.shape[1] // 2
    left, right = luma[:, :half].mean(), luma[:, half:].mean()
    direction = float(np.clip(1.5 * (right - left) / (luma.mean() + 20), -DIRECTION_LIMIT, DIRECTION_LIMIT))
    return Light(gain, warmth, direction)


__all__ = ["ImageBackdrop", "VideoBackdrop", "cover", "is_image", "matching_light", "open_backdrop"]
