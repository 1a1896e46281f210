"""How long the default engine takes for 49 frames at 256x256 on this CPU (target: <= 20 s).

    python benchmarks/nano_speed.py [--photo assets/astronaut.jpg] [--repeats 3]

Prints, per run, the whole in-process generation (face analysis, person mask, motion
sampling, rendering) and its stages; then the same generation as a new user runs it, a
fresh `idvid generate` process that also imports everything and loads the models.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROMPT = "a woman turns to her left, then smiles, on a beach at sunset"


def _stages(engine, photo: str, seed: int) -> dict[str, float]:
    from idvid.face import load_photo
    from idvid.render import Portrait, PortraitRenderer
    from idvid.render.scene_text import scene_from_text

    times = {}
    start = time.perf_counter()
    observation = engine.face_analyzer.analyze(photo)
    times["face analysis"] = time.perf_counter() - start
    start = time.perf_counter()
    portrait = Portrait.from_observation(load_photo(photo), observation)
    times["portrait (mask, plate)"] = time.perf_counter() - start
    start = time.perf_counter()
    pose = observation.pose
    track = engine.motion(PROMPT, (pose.yaw, pose.pitch, pose.roll), 49, seed)
    times["motion sampling"] = time.perf_counter() - start
    start = time.perf_counter()
    PortraitRenderer(portrait, (256, 256), scene_from_text(PROMPT), seed=seed).render_track(track)
    times["rendering 49 frames"] = time.perf_counter() - start
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photo", default=str(ROOT / "assets" / "astronaut.jpg"))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from idvid.engines import load_engine

    start = time.perf_counter()
    engine = load_engine("nano")
    engine.set_progress_bar_config(disable=True)
    engine(prompt=PROMPT, faces=[args.photo], num_frames=5, seed=0)  # loads every model once
    print(f"engine load + warm-up: {time.perf_counter() - start:.2f} s")

    totals = []
    for seed in range(args.repeats):
        start = time.perf_counter()
        out = engine(prompt=PROMPT, faces=[args.photo], num_frames=49, height=256, width=256, seed=seed)
        totals.append(time.perf_counter() - start)
        assert out.frames.shape == (49, 256, 256, 3)
    stages = _stages(engine, args.photo, 0)
    print(f"49 frames at 256x256, in process: median {statistics.median(totals):.2f} s "
          f"(runs: {', '.join(f'{t:.2f}' for t in totals)}); target <= 20 s")
    for name, seconds in stages.items():
        print(f"  {name:<24} {seconds:6.2f} s")

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "video.mp4"
        command = [sys.executable, "-m", "idvid.cli", "generate", "--face", args.photo, "--prompt", PROMPT,
                   "--frames", "49", "--height", "256", "--width", "256", "--out", str(out)]
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        cold = time.perf_counter() - start
    print(f"fresh `idvid generate` process (imports + model loads + generation + mp4): {cold:.2f} s")
    print(f"ratio fresh process / in-process generation: {cold / statistics.median(totals):.2f}x")


if __name__ == "__main__":
    main()
