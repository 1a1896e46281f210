"""``idvid prepare SRC OUT``: real videos -> training clips in the clip store format.

Per source video (a file, or every video file under a folder):

1. decode with PyAV (display rotation honoured, :func:`idvid.video.read_video`), at most
   ``max_source_frames`` frames, resampled to ``fps`` by nearest-frame picking;
2. cut into shots (:func:`idvid.data.shots.shot_boundaries`);
3. per shot, faces detected every ``detect_every`` frames and tracked (IoU, then embedding); a shot
   is used only when one track dominates (:func:`idvid.data.shots.dominant_track`);
4. each usable shot gives clips of ``clip_frames`` frames (consecutive windows). The clip's size
   bucket is the one whose aspect ratio best fits the source frame (``buckets``, by default
   square, landscape and portrait shapes of about ``size`` x ``size`` pixels,
   :mod:`idvid.data.crop_buckets`); the clip is the largest region of that aspect around the
   dominant face that keeps the face at least ``face_fraction`` of its height, resized to the
   bucket;
5. K reference views are picked from analysed frames of the clip, spread over yaw bins; their
   ``frame_indices`` say which clip frames they are, and the training dataset never uses those
   frames as targets (so the clip holds more frames than one training window needs);
6. written with :class:`~idvid.data.store.ClipStore`.

Captions: a sidecar ``NAME.txt`` beside ``NAME.mp4``, or a ``captions.jsonl`` in SRC with lines
``{"video": "NAME.mp4", "caption": "..."}`` (the path relative to SRC; the sidecar wins). A video
without a caption is still prepared, with an empty caption, and counted in the report.

Resumable: ``prepare.ledger.jsonl`` in OUT gets one line per finished source (kept or dropped
and why); a rerun skips those. Unreadable (corrupt, zero-frame, audio-only) and faceless
sources are dropped with a reason. ``prepare_report.json`` sums it up.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from idvid.atomic import atomic_output, make_folder
from idvid.data.crop_buckets import (
    boxes_in_crop,
    bucket_name,
    check_buckets,
    choose_bucket,
    crop_box,
    crop_to_bucket,
    default_buckets,
)
from idvid.data.store import ClipStore
from idvid.data.workers import spawn_pool
from idvid.errors import DataError, FaceError, VideoError

LEDGER_NAME = "prepare.ledger.jsonl"
REPORT_NAME = "prepare_report.json"
VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v", ".m4a", ".mpg", ".mpeg")
CLIPS_PER_SOURCE_SLOT = 100  # clip number = source slot * this + k (chooses the shard; ~10 sources a shard)


@dataclass(frozen=True)
class PrepareOptions:
    fps: float = 8.0
    clip_frames: int = 49
    min_clip_frames: int = 17
    size: int = 128
    face_fraction: float = 0.4
    num_refs: int = 3
    ref_candidates: int = 8
    detect_every: int = 2
    max_source_frames: int = 3000
    buckets: tuple[tuple[int, int], ...] = ()  # (H, W) clip shapes; () = default_buckets(size)

    def __post_init__(self):
        if self.buckets:  # a bad list fails here, before any video is read
            object.__setattr__(self, "buckets", check_buckets(self.buckets))

    def bucket_shapes(self) -> tuple[tuple[int, int], ...]:
        return self.buckets or default_buckets(self.size)


def list_sources(src: str | os.PathLike) -> list[Path]:
    src = Path(src)
    if src.is_file():
        return [src]
    if not src.is_dir():
        raise DataError(f"{src}: no such file or folder")
    return sorted(p for p in src.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)


def read_captions(src: str | os.PathLike, sources: list[Path]) -> dict[str, str]:
    """source path -> caption, from sidecar .txt files and SRC/captions.jsonl (sidecars win)."""
    src = Path(src)
    captions: dict[str, str] = {}
    index = src / "captions.jsonl" if src.is_dir() else None
    if index is not None and index.is_file():
        for number, line in enumerate(index.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                captions[str(src / entry["video"])] = str(entry["caption"]).strip()
            except (ValueError, KeyError, TypeError):
                raise DataError(f"{index}:{number}: expected {{\"video\": ..., \"caption\": ...}}") from None
    for path in sources:
        sidecar = path.with_suffix(".txt")
        if sidecar.is_file():
            captions[str(path)] = sidecar.read_text(encoding="utf-8").strip()
    return captions


def resample(frames: np.ndarray, src_fps: float, fps: float) -> np.ndarray:
    """Nearest-frame indices to go from src_fps to fps (never upsamples above the source)."""
    if fps >= src_fps:
        return np.arange(len(frames))
    count = int(np.floor((len(frames) - 1) * fps / src_fps)) + 1
    return np.unique(np.round(np.arange(count) * src_fps / fps).astype(int).clip(0, len(frames) - 1))


def _references(clip: np.ndarray, analyzer, options: PrepareOptions) -> tuple[dict | None, dict]:
    """-> (refs dict or None, face statistics) from ``ref_candidates`` analysed clip frames."""
    from idvid.face import SAME_PERSON_THRESHOLD

    picks = np.unique(np.linspace(0, len(clip) - 1, min(options.ref_candidates, len(clip))).round().astype(int))
    views = []
    for i in picks:
        try:
            views.append((int(i), analyzer.analyze(clip[i])))
        except FaceError:
            continue
    stats = {"frames_checked": len(picks), "detection_rate": len(views) / max(1, len(picks)),
             "mean_face_size": float(np.mean([o.detection.size for _, o in views])) if views else 0.0}
    if len(views) < 2:
        return None, stats
    # spread over yaw: sort, split into num_refs groups, best quality of each group
    views.sort(key=lambda v: v[1].pose.yaw)
    groups = np.array_split(np.arange(len(views)), min(options.num_refs, len(views)))
    chosen = [views[max(g, key=lambda j: views[j][1].quality)] for g in groups if len(g)]
    refs = {
        "crops": np.stack([o.crop for _, o in chosen]),
        "embeddings": np.stack([o.embedding for _, o in chosen]),
        "vertices": np.stack([o.vertices for _, o in chosen]),
        "poses": np.array([[o.pose.yaw, o.pose.pitch, o.pose.roll] for _, o in chosen], np.float32),
        "frame_indices": np.array([i for i, _ in chosen], np.int64),
    }
    chosen_ids = {i for i, _ in chosen}
    others = [o.embedding for i, o in views if i not in chosen_ids] or [o.embedding for _, o in views]
    sims = (refs["embeddings"] @ np.stack(others).T).ravel()
    stats.update({"ref_frame_similarity_mean": float(sims.mean()), "ref_frame_similarity_min": float(sims.min()),
                  "ref_frame_above_threshold": float((sims >= SAME_PERSON_THRESHOLD).mean())})
    return refs, stats


def _analyzer():
    from idvid.face.analyzer import shared_analyzer

    return shared_analyzer(min_face_size=24)  # prepared clips are small (96-128 px)


def prepare_source(path: Path, out: Path, slot: int, options: PrepareOptions, caption: str = "") -> dict:
    """One source video -> its ledger entry: {"source", "status", "reason", "clips", "shots", "caption"}."""
    from idvid.data.shots import dominant_track, shot_boundaries, track_faces
    from idvid.data.synth_clip import round_floats
    from idvid.video import read_video

    entry = {"source": str(path), "status": "dropped", "reason": "", "clips": [], "shots": [], "caption": caption}
    try:
        video = read_video(path, max_frames=options.max_source_frames)
    except VideoError as e:
        entry["reason"] = f"unreadable: {e}"
        return entry
    frames = video.frames[resample(video.frames, video.fps, options.fps)]
    fps = min(options.fps, video.fps)
    analyzer, store = _analyzer(), ClipStore(out)
    height, width = frames.shape[1:3]
    bucket = choose_bucket(height, width, options.bucket_shapes())
    number = slot * CLIPS_PER_SOURCE_SLOT
    for s, (start, end) in enumerate(shot_boundaries(frames)):
        shot = frames[start:end]
        report = {"start": start, "end": end, "clips": 0, "reason": "", "bucket": bucket_name(bucket)}
        entry["shots"].append(report)
        if len(shot) < options.min_clip_frames:
            report["reason"] = "shot too short"
            continue
        tracks, checked = track_faces(shot, analyzer, every=options.detect_every)
        track, why = dominant_track(tracks, checked)
        if track is None:
            report["reason"] = why
            continue
        box = crop_box(np.stack(list(track.boxes.values())), height, width, bucket, options.face_fraction)
        for k, c0 in enumerate(range(0, len(shot) - options.min_clip_frames + 1, options.clip_frames)):
            clip = crop_to_bucket(shot[c0:c0 + options.clip_frames], box, bucket)
            refs, stats = _references(clip, analyzer, options)
            if refs is None:
                report["reason"] = "too few analysable faces"
                continue
            clip_id = f"{path.stem[:40]}-{slot:05d}-s{s:03d}-{k:03d}".replace(" ", "_")
            meta = {"caption": caption, "source": str(path), "split": "train", "identity": f"{path.stem}#{s}",
                    "source_frames": [start + c0, start + c0 + len(clip)], "source_fps": video.fps,
                    "face_stats": stats, "face_boxes": boxes_in_crop(track.boxes, range(c0, c0 + len(clip)), box)}
            store.write_clip(clip_id, clip, refs, round_floats(meta), number=number, fps=fps)
            number += 1
            report["clips"] += 1
            entry["clips"].append(clip_id)
    if entry["clips"]:
        entry["status"], entry["reason"] = "kept", ""
    else:
        reasons = sorted({s["reason"] for s in entry["shots"] if s["reason"]})
        entry["reason"] = "; ".join(reasons) or "no usable shot"
    return entry


def prepare(src, out, options: PrepareOptions | None = None, workers: int = 1, progress: bool = True,
            overwrite: bool = False) -> dict:
    """Prepare every video under ``src`` into the clip store ``out`` -> the report dict."""
    import shutil

    options = options or PrepareOptions()
    out = Path(out)
    sources = list_sources(src)
    captions = read_captions(src, sources)
    if workers < 1:
        raise DataError(f"workers must be at least 1 (got {workers})")
    if overwrite and out.exists():
        shutil.rmtree(out)
    make_folder(out)
    ledger_path = out / LEDGER_NAME
    done = {}
    if ledger_path.is_file():
        for line in ledger_path.read_text().splitlines():
            if line.strip():
                entry = json.loads(line)
                done[entry["source"]] = entry
    todo = [(slot, p) for slot, p in enumerate(sources) if str(p) not in done]
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), unit="video", desc="prepare", dynamic_ncols=True)
    start = time.perf_counter()

    def record(entry):
        with open(ledger_path, "a") as f:  # one line per finished source; a torn last line is re-done
            f.write(json.dumps(entry, sort_keys=True) + "\n")
            f.flush()
            os.fsync(f.fileno())
        done[entry["source"]] = entry
        if bar is not None:
            bar.update(1)

    try:
        if workers <= 1:
            for slot, path in todo:
                record(prepare_source(path, out, slot, options, captions.get(str(path), "")))
        else:
            from concurrent.futures import as_completed

            with spawn_pool(workers) as pool:
                futures = [pool.submit(prepare_source, path, out, slot, options, captions.get(str(path), ""))
                           for slot, path in todo]
                for future in as_completed(futures):
                    record(future.result())
    finally:
        if bar is not None:
            bar.close()
    store = ClipStore(out)
    store.rebuild_index()
    entries = [done[str(p)] for p in sources if str(p) in done]
    reasons: dict[str, int] = {}
    for e in entries:
        if e["status"] == "dropped":
            key = e["reason"].split(":")[0]
            reasons[key] = reasons.get(key, 0) + 1
    report = {"sources": len(sources), "kept": sum(e["status"] == "kept" for e in entries),
              "dropped": sum(e["status"] == "dropped" for e in entries), "drop_reasons": reasons,
              "clips": sum(len(e["clips"]) for e in entries), "buckets": _bucket_counts(store),
              "options": asdict(options),
              "uncaptioned": sorted(e["source"] for e in entries if e["status"] == "kept" and not e.get("caption")),
              "dropped_sources": {e["source"]: e["reason"] for e in entries if e["status"] == "dropped"}}
    with atomic_output(out / REPORT_NAME, overwrite=True) as tmp:
        tmp.write_text(json.dumps(report, sort_keys=True, indent=1) + "\n")
    report["seconds"] = time.perf_counter() - start
    return report


def _bucket_counts(store: ClipStore) -> dict[str, int]:
    """Clips per "HxW" bucket in the store (what training will batch by)."""
    counts: dict[str, int] = {}
    for meta in store.clips():
        counts[meta["bucket"]] = counts.get(meta["bucket"], 0) + 1
    return dict(sorted(counts.items()))


def format_prepare_report(report: dict) -> str:
    lines = [(f"sources: {report['sources']}, kept {report['kept']}, dropped {report['dropped']}, "
              f"clips {report['clips']}")]
    if report["buckets"]:
        lines.append("  clips per bucket: " + ", ".join(f"{k} {n}" for k, n in report["buckets"].items()))
    for source, reason in sorted(report["dropped_sources"].items()):
        lines.append(f"  dropped {source}: {reason}")
    return "\n".join(lines)
