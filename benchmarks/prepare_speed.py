"""Speed of ``idvid prepare`` on the CPU: source seconds processed per wall second.

No licence-clean real face video ships offline, so the source is rendered: the astronaut,
then Grace Hopper (a shot cut between them), head turning, at --height x --height and
--src-fps, --seconds long in all. Reported: rendering time (not part of prepare), prepare
wall time, clips written, and the real-time factor.

    python benchmarks/prepare_speed.py [--seconds 12] [--src-fps 24] [--height 360] [--workers 1]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

ASSETS = Path(__file__).resolve().parents[1] / "assets"


def source_video(path: Path, seconds: float, fps: int, height: int) -> None:
    from idvid.face import FaceAnalyzer, load_photo
    from idvid.render import ControlTrack, Portrait, PortraitRenderer, SceneSpec
    from idvid.video import write_video

    analyzer = FaceAnalyzer()
    shots = []
    per_shot = int(seconds * fps / 2)
    for name, colour in (("astronaut.jpg", "blue"), ("grace_hopper.jpg", "green")):
        photo = load_photo(ASSETS / name)
        portrait = Portrait.from_observation(photo, analyzer.analyze(photo))
        track = ControlTrack.neutral(per_shot).values.copy()
        track[:, 0] = 25 * np.sin(np.linspace(0, 2 * np.pi, per_shot))
        renderer = PortraitRenderer(portrait, (height, height * 16 // 9 // 2 * 2), SceneSpec("solid", colour))
        shots.append(renderer.render_track(ControlTrack(track), fps=fps))
    write_video(np.concatenate(shots), path, fps=fps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--src-fps", type=int, default=24)
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()

    from idvid.data.prepare import PrepareOptions, format_prepare_report, prepare

    print(f"cpus: {os.cpu_count()}, load average: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        start = time.perf_counter()
        source_video(src / "two_shots.mp4", args.seconds, args.src_fps, args.height)
        print(f"rendered the {args.seconds:.0f} s source in {time.perf_counter() - start:.1f} s")
        start = time.perf_counter()
        report = prepare(src, Path(tmp) / "out", PrepareOptions(), workers=args.workers, progress=False)
        wall = time.perf_counter() - start
    print(format_prepare_report(report))
    print(f"prepare: {wall:.1f} s for {args.seconds:.0f} s of {args.height}p video "
          f"({args.seconds / wall:.2f}x real time), {report['clips']} clips")


if __name__ == "__main__":
    main()
