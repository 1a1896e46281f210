"""Control tracks from clips: the motion the `nano` motion model should learn from real footage.

One clip of a :class:`~idvid.data.store.ClipStore` (``idvid prepare`` or ``idvid synth`` output)
becomes a :class:`~idvid.render.controls.ControlTrack` of :data:`MODEL_FRAMES` frames in the motion
model's layout, plus the reference pose the model is conditioned on.

1. **Meshes.** Every frame goes through the frozen face stack (:func:`idvid.face.analyzer.shared_analyzer`):
   YuNet finds the faces, the largest one gets its MediaPipe 478-point mesh.
2. **Controls per frame**, relative to the clip's first frame with a face (the *reference*, which
   plays the photo's part; its absolute pose is the ``reference_pose``), by
   :mod:`idvid.render.mesh_controls`: yaw / pitch / roll, tx / ty / scale, smile / mouth_open /
   blink / brow_raise, with :class:`~idvid.render.controls.FrameControls`' sign conventions.
   The reference is taken as a neutral face: a clip that starts smiling teaches less smile.
   **Camera and light stay neutral** (zoom 1, pan 0, light unchanged): from the face alone a
   camera zoom or pan cannot be told from the person moving (it shows up in tx / ty / scale),
   nor a change of light from the footage's own exposure.
3. **Misses.** Frames without a face (or mesh) are interpolated from their neighbours when the
   gap is at most :data:`MAX_GAP_SECONDS`; a longer gap, more than :data:`MAX_MISSING` of the
   frames missing, or no face at all rejects the clip with a :class:`TrackError` saying why.
4. **Time.** Like the procedural programs, a model track is :data:`MODEL_FRAMES` frames spanning
   :data:`CLIP_SECONDS` end to end (8 fps). The clip's first ``CLIP_SECONDS`` (``round(6 fps) + 1``
   frames, or all of a clip that is just that long, as ``idvid synth`` makes them) are resampled
   onto them with :func:`idvid.engines.nano.motion.resample_track` (linear, blinks kept). Shorter
   clips are rejected rather than slowed down.
5. **Cache.** Step 1-2's per-frame controls (the slow part, 15-25 ms a frame) are kept beside the
   clip as ``<clip_id>.track.npz`` (written atomically), with the video's size and modification
   time and :data:`TRACK_FORMAT`; a changed video or format is measured again. The store folder
   must be writable.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from idvid.atomic import atomic_output
from idvid.data.store import ClipStore
from idvid.engines.nano.motion_actions import CLIP_SECONDS
from idvid.engines.nano.motion_programs import MODEL_FRAMES
from idvid.errors import DataError, IdvidError
from idvid.render.controls import clamp_controls
from idvid.render.mesh_controls import FrameMeasures, clip_meshes, measure_controls

TRACK_SUFFIX = ".track.npz"
TRACK_FORMAT = 1  # bump when the measurement changes: caches of another format are measured again
MAX_GAP_SECONDS = 0.5  # longest run of faceless frames that is interpolated (at least one frame)
MAX_MISSING = 0.2  # largest share of faceless frames in a usable clip


class TrackError(DataError):
    """A clip gives no usable control track (too few faces, too short)."""


@dataclass(frozen=True)
class ClipTrack:
    """A clip's motion as the model sees it: values (MODEL_FRAMES, 16) float32 controls,
    reference_pose (3,) float32 degrees, and the clip's caption ("" when it has none)."""

    clip_id: str
    caption: str
    values: np.ndarray
    reference_pose: np.ndarray


# ---- measuring ----------------------------------------------------------------------------------


def fill_gaps(measures: FrameMeasures, fps: float) -> np.ndarray:
    """-> (T, 16) controls with faceless frames interpolated (ends held at the nearest face).

    Raises TrackError when too many frames, or too long a run of them, have no face."""
    found = measures.found
    missing = 1.0 - found.mean()
    if missing > MAX_MISSING:
        raise TrackError(f"no face in {missing:.0%} of the frames (at most {MAX_MISSING:.0%})")
    longest = _longest_run(~found)
    allowed = max(1, int(MAX_GAP_SECONDS * fps))
    if longest > allowed:
        raise TrackError(f"{longest} frames in a row without a face (at most {allowed} at {fps:g} fps)")
    frames = np.arange(len(found))
    columns = [np.interp(frames, frames[found], column[found]) for column in measures.values.T]
    return np.stack(columns, axis=1).astype(np.float32)


def _longest_run(flags: np.ndarray) -> int:
    """Length of the longest run of True in a (T,) bool array."""
    longest = run = 0
    for flag in flags:
        run = run + 1 if flag else 0
        longest = max(longest, run)
    return longest


def window_frames(num_frames: int, fps: float) -> int:
    """How many of a clip's first frames make up the model's CLIP_SECONDS window (see the module
    docstring). Raises TrackError for a shorter clip."""
    span = round(CLIP_SECONDS * fps)  # frame intervals in the window
    if num_frames < span:
        raise TrackError(f"the clip is {num_frames / fps:.1f} s; the motion model learns {CLIP_SECONDS:g} s tracks")
    return min(num_frames, span + 1)


def model_window(values: np.ndarray, fps: float) -> np.ndarray:
    """(T, 16) per-frame controls at ``fps`` -> (MODEL_FRAMES, 16): the first CLIP_SECONDS,
    resampled end to end and clamped to the renderer's ranges."""
    from idvid.engines.nano.motion import resample_track  # here: that module imports torch and diffusers

    return clamp_controls(resample_track(values[: window_frames(len(values), fps)], MODEL_FRAMES))


# ---- clips and their cache ------------------------------------------------------------------------


def track_path(store: ClipStore, clip_id: str):
    """Where a clip's cached measurement lives: beside its video."""
    return store.video_path(clip_id).with_name(clip_id + TRACK_SUFFIX)


def _video_stamp(store: ClipStore, clip_id: str) -> np.ndarray:
    """(2,) int64 size and modification time (ns) of the clip's video: a rewritten clip is re-measured."""
    stat = os.stat(store.video_path(clip_id))
    return np.array([stat.st_size, stat.st_mtime_ns], dtype=np.int64)


def read_cached(store: ClipStore, clip_id: str) -> FrameMeasures | None:
    """The cached measurement, or None when there is none or it is stale or unreadable."""
    path = track_path(store, clip_id)
    try:
        with np.load(path) as data:
            if int(data["format"]) != TRACK_FORMAT or not np.array_equal(data["video"], _video_stamp(store, clip_id)):
                return None
            return FrameMeasures(data["values"], data["reference_pose"])
    except (OSError, ValueError, KeyError):
        return None


def write_cached(store: ClipStore, clip_id: str, measures: FrameMeasures) -> None:
    with atomic_output(track_path(store, clip_id), overwrite=True) as tmp, open(tmp, "wb") as f:
        np.savez(f, values=measures.values, reference_pose=measures.reference_pose,
                 video=_video_stamp(store, clip_id), format=np.int64(TRACK_FORMAT))


def clip_measures(store: ClipStore, clip_id: str, analyzer=None) -> FrameMeasures:
    """A clip's per-frame measurement: from the cache, else measured (and cached).

    analyzer: a FaceAnalyzer (default: the process's shared one)."""
    measures = read_cached(store, clip_id)
    if measures is None:
        if analyzer is None:
            from idvid.face.analyzer import shared_analyzer

            analyzer = shared_analyzer()
        measures = measure_controls(clip_meshes(store.read_frames(clip_id), analyzer))
        write_cached(store, clip_id, measures)
    return measures


def clip_track(store: ClipStore, meta: dict, analyzer=None) -> ClipTrack:
    """One clip (its metadata ``meta``, as :meth:`ClipStore.clips` gives it) -> its ClipTrack.

    Raises TrackError (with the clip id) when the clip has no usable track or cannot be read."""
    clip_id, fps = meta["clip_id"], float(meta["fps"])
    try:
        window_frames(int(meta["num_frames"]), fps)  # before the slow part
        measures = clip_measures(store, clip_id, analyzer)
        values = model_window(fill_gaps(measures, fps), fps)
    except IdvidError as e:  # also a clip whose video or files are unreadable: one bad clip is left out
        raise TrackError(f"{clip_id}: {e}") from None
    return ClipTrack(clip_id, str(meta.get("caption") or "").strip(), values, measures.reference_pose)


def store_tracks(roots: Sequence[str | os.PathLike], split: str | None = "train",
                 analyzer=None) -> tuple[list[ClipTrack], list[str]]:
    """Every usable clip of ``split`` in the clip stores ``roots`` -> (tracks, rejections), where
    each rejection is a one-line reason naming the clip."""
    tracks, rejected = [], []
    for root in roots:
        store = ClipStore(root)
        for meta in store.clips(split=split):
            try:
                tracks.append(clip_track(store, meta, analyzer))
            except TrackError as e:
                rejected.append(f"{root}: {e}")
    return tracks, rejected


def load_tracks(clips: Sequence[str | Path]) -> tuple[list[ClipTrack], list[str]]:
    """(usable train-clip tracks of the clip stores ``clips``, why the others were left out), both
    also printed. Raises DataError when clips are given but none is usable."""
    if not clips:
        return [], []
    tracks, rejected = store_tracks(clips)
    for reason in rejected:
        tqdm.write(f"left out {reason}")
    if not tracks:
        raise DataError(f"no usable train clip in {', '.join(map(str, clips))} ({len(rejected)} left out)")
    tqdm.write(f"{len(tracks)} clip tracks from {len(clips)} store(s); {len(rejected)} left out")
    return tracks, rejected
