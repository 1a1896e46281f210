"""Speed of the portrait renderer on the CPU.

One-time Portrait preparation (face analysis, person mask, background plate), renderer set-up,
and ms/frame over a 49-frame varied track (head turns and nods, expressions, camera, light)
at 256x256 and 512x512, after a warm-up. Target: <= 60 ms/frame at 256x256 on 2 cores.

Wall times suffer when other processes share the cores, so the load average is printed and
each frame's CPU time is reported too (process time; with --threads 1 it is an upper bound
on the wall time of an otherwise idle core).

    python benchmarks/render_speed.py [--photo assets/astronaut.jpg] [--scene beach] [--frames 49] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np

ASSETS = Path(__file__).resolve().parents[1] / "assets"


def varied_track(frames: int):
    """A (frames, n_controls) ControlTrack exercising every control smoothly."""
    from idvid.render import ControlTrack, FrameControls

    t = np.linspace(0.0, 1.0, frames)
    rows = []
    for s in t:
        rows.append(
            FrameControls(
                yaw=25 * np.sin(2 * np.pi * s),
                pitch=12 * np.sin(4 * np.pi * s),
                roll=8 * np.sin(2 * np.pi * s + 1),
                tx=0.1 * np.sin(2 * np.pi * s),
                ty=0.05 * np.cos(2 * np.pi * s),
                scale=1 + 0.08 * s,
                smile=max(0.0, np.sin(np.pi * s)),
                mouth_open=max(0.0, np.sin(6 * np.pi * s)) * 0.8,
                blink=1.0 if abs(s - 0.5) < 0.03 else 0.0,
                brow_raise=0.5 * np.sin(3 * np.pi * s),
                zoom=1 + 0.2 * s,
                pan_x=0.03 * np.sin(2 * np.pi * s),
                light_gain=1 + 0.1 * np.sin(2 * np.pi * s),
                light_warmth=0.3 * s,
                light_dir=np.sin(2 * np.pi * s) * 0.5,
            )
        )
    return ControlTrack.from_controls(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo", default=str(ASSETS / "astronaut.jpg"))
    parser.add_argument("--scene", default="beach")
    parser.add_argument("--frames", type=int, default=49)
    parser.add_argument("--threads", type=int, default=0, help="OpenCV threads (0 = its default)")
    args = parser.parse_args()
    if args.threads:
        import cv2

        cv2.setNumThreads(args.threads)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")

    from idvid.face import FaceAnalyzer, load_photo
    from idvid.render import Portrait, PortraitRenderer, SceneSpec

    analyzer = FaceAnalyzer().load()
    photo = load_photo(args.photo)
    analyzer.analyze(photo)  # warm the face models so the timing below is the steady cost
    Portrait.from_photo(photo, analyzer)  # and the segmenter
    start = time.perf_counter()
    portrait = Portrait.from_photo(photo, analyzer)
    prep = time.perf_counter() - start
    start = time.perf_counter()
    observation = analyzer.analyze(photo)
    analysis = time.perf_counter() - start
    print(
        f"Portrait.from_photo ({photo.shape[1]}x{photo.shape[0]})  {1000 * prep:7.0f} ms "
        f"(face analysis {1000 * analysis:.0f} ms, mask + plate + layers {1000 * (prep - analysis):.0f} ms)"
    )
    del observation

    track = varied_track(args.frames)
    for size in ((256, 256), (512, 512)):
        start = time.perf_counter()
        renderer = PortraitRenderer(portrait, size, SceneSpec(args.scene))
        setup = time.perf_counter() - start
        renderer.render_track(track)  # warm-up: caches, first-call imports
        wall, cpu = [], []
        for index in range(len(track)):
            w0, c0 = time.perf_counter(), time.process_time()
            renderer.render(track[index], t=index / 8.0)
            wall.append(1000 * (time.perf_counter() - w0))
            cpu.append(1000 * (time.process_time() - c0))
        start = time.perf_counter()
        renderer.render_track(track)
        total = time.perf_counter() - start
        print(
            f"{size[1]}x{size[0]} {args.scene:>8}: set-up {1000 * setup:5.0f} ms, wall median "
            f"{statistics.median(wall):5.1f} ms/frame (min {min(wall):5.1f}, max {max(wall):5.1f}), "
            f"CPU median {statistics.median(cpu):5.1f} ms/frame, render_track({len(track)}) {total:5.2f} s"
        )


if __name__ == "__main__":
    main()
