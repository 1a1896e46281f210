"""nano driven by a video: the person in the photo follows the driving video's head pose,
expressions, blinks and mouth.

Every driving frame's largest face goes through idvid's face stack (YuNet, the MediaPipe mesh)
and is read back as render controls relative to the video's first face
(:func:`idvid.render.mesh_controls.measure_controls`, the inverse of what the renderer does).
The renderer applies them to the photo, so the motion is retargeted onto the photo's own pose
and face: a driver who starts turned away and turns back makes the photo turn by the same
angle from where it looks. Frames without a face are bridged by interpolation (the ends hold
the nearest face); the mesh's frame-to-frame jitter is smoothed out of the head's angles and
placement, not out of the expressions (a blink lasts a few frames).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from idvid.errors import GenerationError
from idvid.render.controls import CONTROL_NAMES, ControlTrack, clamp_controls, smooth_in_time

logger = logging.getLogger("idvid")
HEAD = [CONTROL_NAMES.index(n) for n in ("yaw", "pitch", "roll", "tx", "ty", "scale")]
STILL_FORMATS = ("image2", "png_pipe", "jpeg_pipe", "webp_pipe", "bmp_pipe", "tiff_pipe")  # FFmpeg's image readers
SAMPLED_FRAMES = 8  # read before any model loads, to refuse a driving video without a face at once
SCARCE_FACES = 0.5  # warn below this share of driving frames with a face
JITTER_SECONDS = 0.04  # the smoothing's sigma on the head: one frame at 25 fps, below any real head move


@dataclass(frozen=True)
class DrivingVideo:
    """What a driving video's header says: its path, length, rate and whether it has sound."""

    path: Path
    seconds: float
    fps: float
    has_audio: bool


def probe(path: str | Path) -> DrivingVideo:
    """Read the header only; VideoError (one line) for a missing, empty or unreadable file."""
    from idvid.errors import VideoError
    from idvid.render.backdrop import is_image
    from idvid.video.reader import frame_rate, open_video, stream_seconds

    path = Path(path)
    if is_image(path):
        raise VideoError(f"{path} is a still image; a driving video is needed")
    with open_video(path) as (container, stream):
        if container.format.name in STILL_FORMATS:
            raise VideoError(f"{path} is a still image; a driving video is needed")
        fps = frame_rate(stream, path)
        seconds = stream_seconds(container, stream)
        has_audio = bool(container.streams.audio)
    if not seconds:
        raise GenerationError(f"{path}: the driving video's header gives no length")
    return DrivingVideo(path, seconds, fps, has_audio)


def check_faces(video: DrivingVideo, analyzer) -> None:
    """GenerationError when none of SAMPLED_FRAMES frames spread over the video shows a face
    (a quick look before any model loads; the generation reads every frame)."""
    from idvid.render.mesh_controls import frame_mesh
    from idvid.video.reader import iter_frames

    step = max(1, round(video.seconds * video.fps / SAMPLED_FRAMES))
    for index, frame in enumerate(iter_frames(video.path)):
        if index % step == 0 and np.isfinite(frame_mesh(frame, analyzer)[0, 0]):
            return
    raise GenerationError(f"no face found in the driving video {video.path}")


def drive_track(video: DrivingVideo, analyzer, num_frames: int, fps: float,
                progress: Callable[[], None] | None = None) -> ControlTrack:
    """The driving video's motion as ``num_frames`` frames of controls at ``fps``.
    ``progress`` is called after each driving frame is measured."""
    from idvid.render.mesh_controls import frame_mesh, measure_controls
    from idvid.video.reader import iter_frames

    meshes = []
    for index, frame in enumerate(iter_frames(video.path)):
        meshes.append(frame_mesh(frame, analyzer, f"driving frame {index}"))
        if progress is not None:
            progress()
    measures = measure_controls(np.stack(meshes))
    found = measures.found
    if not found.any():
        raise GenerationError(f"no face found in the driving video {video.path}")
    if found.mean() < SCARCE_FACES:
        logger.warning("the driving video shows a face in %.0f%% of its frames; the others hold the pose of the "
                       "nearest frame with one", 100 * found.mean())
    times = np.arange(len(found)) / video.fps
    values = np.stack([np.interp(times, times[found], column[found]) for column in measures.values.T], axis=1)
    values[:, HEAD] = smooth_in_time(values[:, HEAD], JITTER_SECONDS * video.fps)
    out_times = np.arange(num_frames) / fps
    resampled = np.stack([np.interp(out_times, times, column) for column in values.T], axis=1)
    return ControlTrack(clamp_controls(resampled))


__all__ = ["DrivingVideo", "check_faces", "drive_track", "probe"]
