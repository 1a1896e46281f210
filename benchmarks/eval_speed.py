"""Speed of ``evaluate_video`` with the default (offline) metrics on the CPU.

One 49-frame 480 x 720 H.264 video, made from the astronaut photo on a grey canvas with a
small drift and sway, evaluated from the file (decode included). Target: <= 10 s on 2 cores.
Model construction (YuNet + SFace + FaceMesh) is reported apart; the first run pays it.

    python benchmarks/eval_speed.py [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

ASSETS = Path(__file__).resolve().parents[1] / "assets"
FRAMES, HEIGHT, WIDTH = 49, 480, 720
TARGET_S = 10.0


def make_video(path: Path) -> Path:
    """The astronaut photo on a 480 x 720 canvas, drifting ~1 px and swaying ~0.3 deg a frame."""
    import cv2

    from idvid.face import load_photo
    from idvid.video import write_video

    photo = load_photo(ASSETS / "astronaut.jpg")
    frames = []
    for t in range(FRAMES):
        phase = 2 * np.pi * t / FRAMES
        matrix = cv2.getRotationMatrix2D((256.0, 256.0), 4.0 * np.sin(phase), 0.85)
        matrix[:, 2] += (WIDTH / 2 - 256 + 20 * np.sin(phase), HEIGHT / 2 - 256 + 6 * np.sin(2 * phase))
        frames.append(cv2.warpAffine(photo, matrix, (WIDTH, HEIGHT), borderValue=(60, 60, 60)))
    return write_video(np.stack(frames), path, fps=16)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    import cv2

    from idvid.eval import EvalModels, ModelPaths, evaluate_video, format_result

    print(f"threads: cv2 {cv2.getNumThreads()}")
    start = time.perf_counter()
    models = EvalModels(ModelPaths(hf_cache=False))
    models.analyzer.load()
    print(f"model construction             {time.perf_counter() - start:6.2f} s  (YuNet + SFace + FaceMesh)")

    with tempfile.TemporaryDirectory() as tmp:
        video = make_video(Path(tmp) / "bench.mp4")
        prompt = "a woman turns her head to the left and smiles"
        totals, results = [], []
        for _ in range(args.runs):
            start = time.perf_counter()
            results.append(evaluate_video(video, ASSETS / "astronaut.jpg", prompt, models=models))
            totals.append(time.perf_counter() - start)

    result = results[-1]
    print(f"\n{FRAMES} frames {WIDTH}x{HEIGHT}, default metrics, {args.runs} runs")
    print("per step (last run):")
    for name, seconds in sorted(result.timings.items(), key=lambda kv: -kv[1]):
        print(f"  {name:28s} {seconds:6.3f} s")
    median = statistics.median(totals)
    print(f"total: median {median:.2f} s, max {max(totals):.2f} s, first {totals[0]:.2f} s "
          f"(target <= {TARGET_S:g} s): {'OK' if max(totals) <= TARGET_S else 'TOO SLOW'}")
    print("\n" + format_result(result))


if __name__ == "__main__":
    main()
