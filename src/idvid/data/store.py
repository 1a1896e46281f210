"""The clip store: one on-disk format for training clips, written by ``idvid synth`` and
``idvid prepare`` alike (training cannot tell where a clip came from except by its metadata).

Layout of a dataset folder::

    DATASET/
      index.jsonl                 one JSON line per visible clip (rebuilt from the sidecars)
      shards/
        shard-00000/              up to ``shard_size`` clips (clip number // shard_size)
          <clip_id>.mp4           the video: H.264 yuv420p (idvid.video.write_video)
          <clip_id>.refs.npz      the multi-view reference set, K views:
                                    crops          (K, 224, 224, 3) uint8   aligned face crops
                                    embeddings     (K, 128) float32         SFace, L2-normalised
                                    vertices       (K, 478, 3) float32      face mesh, pixels of the
                                                                            image the view came from
                                    poses          (K, 3) float32           yaw, pitch, roll (degrees)
                                    frame_indices  (K,) int64               the clip frame each view was
                                                                            taken from; -1 = not a frame
                                                                            of this clip (synthetic renders)
          <clip_id>.json          metadata (written LAST: a clip exists only once its json does)
        shard-00001/ ...

Metadata keys (``meta``, all JSON): ``clip_id``, ``caption``, ``fps``, ``num_frames``, ``height``,
``width``, ``bucket`` ("HxW"), ``split`` ("train" / "heldout"), ``identity``, ``source``
("synth" / a source video), ``face_stats`` (``mean_face_size``, ``detection_rate``,
``ref_frame_similarity_mean``, ``ref_frame_similarity_min``), ``face_boxes`` ((T, 4) x, y, w, h
of each frame's face as fractions of the frame's width and height; for face-weighted losses),
``num_refs``, ``shard``; synthetic
held-out clips also carry ``controls`` ((T, 16) ground-truth control track as nested lists,
columns ``control_names``) and ``program``. Anything else the writer adds is kept.

Atomicity: every file goes through :func:`idvid.atomic.atomic_output` (temporary + rename), and
the json sidecar is written after the mp4 and npz. A crash leaves at most an mp4/npz without a
json, which readers ignore and a rerun overwrites. ``index.jsonl`` is a cache: it is rebuilt
atomically from the sidecars by :meth:`ClipStore.rebuild_index`, never appended to in place.

Why JSON lines and not parquet: the index is small (one short line per clip) and read once per
training run; pyarrow would add a ~100 MB dependency for no measurable gain. ``pandas.read_json
(path, lines=True)`` reads it as a table when wanted.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from idvid.atomic import atomic_output
from idvid.errors import DataError

INDEX_NAME = "index.jsonl"
SHARDS = "shards"
DEFAULT_SHARD_SIZE = 1000
REF_KEYS = ("crops", "embeddings", "vertices", "poses", "frame_indices")
REF_DTYPES = {"crops": np.uint8, "embeddings": np.float32, "vertices": np.float32, "poses": np.float32,
              "frame_indices": np.int64}


class StoreError(DataError):
    """A clip store is missing, malformed, or a clip cannot be found or written."""


def shard_name(number: int, shard_size: int = DEFAULT_SHARD_SIZE) -> str:
    return f"shard-{int(number) // int(shard_size):05d}"


def check_refs(refs: dict) -> dict[str, np.ndarray]:
    """Validate and normalise a reference set (see the module docstring) -> dict of arrays."""
    missing = [k for k in REF_KEYS if k not in refs]
    if missing:
        raise StoreError(f"reference set lacks {missing}")
    out = {k: np.ascontiguousarray(np.asarray(refs[k]), dtype=REF_DTYPES[k]) for k in REF_KEYS}
    k = out["crops"].shape[0]
    shapes = {"crops": (k, 224, 224, 3), "embeddings": (k, 128), "vertices": (k, 478, 3), "poses": (k, 3),
              "frame_indices": (k,)}
    for key, shape in shapes.items():
        if out[key].shape != shape:
            raise StoreError(f"refs[{key!r}] should have shape {shape}, got {out[key].shape}")
    return out


def dumps_meta(meta: dict) -> str:
    """Canonical JSON (sorted keys, fixed separators): equal metadata -> equal bytes."""
    return json.dumps(meta, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False) + "\n"


class ClipStore:
    """A dataset folder of clips (see the module docstring for the layout).

    path: the dataset folder (created on the first write); shard_size: clips per shard folder.
    """

    def __init__(self, path: str | os.PathLike, shard_size: int = DEFAULT_SHARD_SIZE):
        self.root = Path(path)
        self.shard_size = int(shard_size)
        if self.shard_size < 1:
            raise StoreError(f"shard_size must be >= 1, got {shard_size}")
        self._locations: dict[str, Path] | None = None

    # ---- writing ----------------------------------------------------------------------------

    def write_clip(self, clip_id: str, frames: np.ndarray, refs: dict, meta: dict, number: int,
                   fps: float, crf: int = 18) -> Path:
        """Write one clip atomically; returns the json sidecar path.

        clip_id: file-name-safe id; frames: (T, H, W, 3) uint8 RGB; refs: the reference set;
        meta: JSON-able metadata (clip_id, num_frames, height, width, fps, bucket and shard are
        filled in); number: the clip's sequence number (chooses the shard); fps: frame rate.
        An existing clip of the same id (complete or partial) is replaced."""
        from idvid.video import write_video

        if not clip_id or "/" in clip_id or clip_id.startswith("."):
            raise StoreError(f"bad clip id {clip_id!r}")
        frames = np.asarray(frames)
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise StoreError(f"frames must be (T, H, W, 3) uint8, got {frames.shape} {frames.dtype}")
        refs = check_refs(refs)
        t, h, w = frames.shape[:3]
        shard = shard_name(number, self.shard_size)
        folder = self.root / SHARDS / shard
        folder.mkdir(parents=True, exist_ok=True)
        json_path = folder / f"{clip_id}.json"
        json_path.unlink(missing_ok=True)  # invisible while being rewritten
        write_video(frames, folder / f"{clip_id}.mp4", fps=fps, crf=crf, overwrite=True)
        with atomic_output(folder / f"{clip_id}.refs.npz", overwrite=True) as tmp, open(tmp, "wb") as f:
            np.savez(f, **refs)
        meta = {**meta, "clip_id": clip_id, "num_frames": int(t), "height": int(h), "width": int(w),
                "fps": float(fps), "bucket": f"{h}x{w}", "shard": shard, "num_refs": len(refs["crops"])}
        with atomic_output(json_path, overwrite=True) as tmp:
            tmp.write_text(dumps_meta(meta))
        if self._locations is not None:
            self._locations[clip_id] = json_path
        return json_path

    # ---- reading ----------------------------------------------------------------------------

    def _sidecars(self) -> Iterator[Path]:
        base = self.root / SHARDS
        if not base.is_dir():
            return iter(())
        return iter(sorted(p for p in base.glob("shard-*/*.json") if not p.name.startswith(".")))

    def _locate(self, clip_id: str) -> Path:
        if self._locations is None or clip_id not in self._locations:
            self._locations = {p.stem: p for p in self._sidecars()}
        if clip_id not in self._locations:
            raise StoreError(f"no clip {clip_id!r} in {self.root}")
        return self._locations[clip_id]

    def clips(self, split: str | None = None, use_index: bool = True) -> list[dict]:
        """Metadata of every visible clip (json written), sorted by clip id; only ``split`` if given.
        Reads ``index.jsonl`` when present and ``use_index``, the sidecars otherwise."""
        index = self.root / INDEX_NAME
        if use_index and index.is_file():
            try:
                metas = [json.loads(line) for line in index.read_text().splitlines() if line.strip()]
            except ValueError as e:
                raise StoreError(f"{index} is corrupt ({e}); rebuild it with ClipStore.rebuild_index()") from None
        else:
            metas = [self.read_meta(p) for p in self._sidecars()]
        metas.sort(key=lambda m: m["clip_id"])
        return [m for m in metas if split is None or m.get("split") == split]

    @staticmethod
    def read_meta(path: Path) -> dict:
        try:
            return json.loads(Path(path).read_text())
        except (OSError, ValueError) as e:
            raise StoreError(f"{path}: unreadable clip metadata ({e})") from None

    def meta(self, clip_id: str) -> dict:
        return self.read_meta(self._locate(clip_id))

    def read_refs(self, clip_id: str) -> dict[str, np.ndarray]:
        path = self._locate(clip_id).with_suffix("").with_suffix(".refs.npz")
        try:
            with np.load(path) as data:
                return {k: data[k] for k in REF_KEYS}
        except (OSError, ValueError, KeyError) as e:
            raise StoreError(f"{path}: unreadable reference views ({e})") from None

    def video_path(self, clip_id: str) -> Path:
        return self._locate(clip_id).with_suffix(".mp4")

    def read_frames(self, clip_id: str, indices=None) -> np.ndarray:
        """(T, H, W, 3) uint8 decoded frames (only ``indices`` if given, in that order)."""
        from idvid.video import read_video

        frames = np.asarray(read_video(self.video_path(clip_id)).frames)
        return frames if indices is None else frames[np.asarray(indices)]

    def read_clip(self, clip_id: str) -> tuple[np.ndarray, dict[str, np.ndarray], dict]:
        """-> (frames (T, H, W, 3) uint8, refs dict, meta dict)."""
        return self.read_frames(clip_id), self.read_refs(clip_id), self.meta(clip_id)

    def __contains__(self, clip_id: str) -> bool:
        try:
            self._locate(clip_id)
            return True
        except StoreError:
            return False

    def __len__(self) -> int:
        return sum(1 for _ in self._sidecars())

    # ---- index ------------------------------------------------------------------------------

    def rebuild_index(self) -> Path:
        """Rewrite ``index.jsonl`` atomically from the json sidecars (one sorted line per clip;
        bulky keys ``controls`` and ``program`` are left out of the index)."""
        metas = sorted((self.read_meta(p) for p in self._sidecars()), key=lambda m: m["clip_id"])
        lines = []
        for m in metas:
            slim = {k: v for k, v in m.items() if k not in ("controls", "program")}
            lines.append(json.dumps(slim, sort_keys=True, separators=(",", ":")))
        path = self.root / INDEX_NAME
        with atomic_output(path, overwrite=True) as tmp:
            tmp.write_text("".join(line + "\n" for line in lines))
        self._locations = None
        return path
