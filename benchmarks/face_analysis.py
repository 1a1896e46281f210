"""Speed of the frozen face stack on the CPU.

Full analysis (load + detect + align + embed + mesh + pose + quality) of a 1024 px photo (the
astronaut, upscaled); target < 300 ms on 2 cores, model construction reported separately.

    python benchmarks/face_analysis.py [--runs 20]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

ASSETS = Path(__file__).resolve().parents[1] / "assets"


def _median_ms(fn, runs: int) -> tuple[float, float]:
    """(median, max) wall time of fn() in ms over `runs` calls, after one warm-up call."""
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    start = time.perf_counter()
    import cv2  # noqa: F401
    import mediapipe  # noqa: F401

    print(f"import cv2 + mediapipe        {1000 * (time.perf_counter() - start):7.0f} ms")

    from PIL import Image

    from idvid.face import FaceAnalyzer, load_photo
    from idvid.face.align import align_face
    from idvid.face.pose import head_pose
    from idvid.face.quality import face_quality, sharpness

    start = time.perf_counter()
    analyzer = FaceAnalyzer().load()
    print(f"model construction            {1000 * (time.perf_counter() - start):7.0f} ms  (YuNet + SFace + FaceMesh)")
    print(f"threads: cv2 {cv2.getNumThreads()}")

    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "astronaut_1024.jpg"
        Image.open(ASSETS / "astronaut.jpg").resize((1024, 1024), Image.BICUBIC).save(big, quality=95)
        photos = {
            "astronaut 512x512": ASSETS / "astronaut.jpg",
            "grace_hopper 512x600": ASSETS / "grace_hopper.jpg",
            "astronaut 1024x1024": big,
        }
        print(f"\nfull analyze(path), median / max of {args.runs} runs:")
        for name, path in photos.items():
            med, worst = _median_ms(lambda p=path: analyzer.analyze(p), args.runs)
            print(f"  {name:22s} {med:7.1f} ms / {worst:6.1f} ms")

        # Per-stage split on the 1024 px photo.
        image = load_photo(big)
        face = analyzer.detector(image)[0]
        crop, _ = align_face(image, face.landmarks, analyzer.crop_size)
        vertices = analyzer.mesher(image, face)
        stages = {
            "load (JPEG decode)": lambda: load_photo(big),
            "detect (YuNet @640)": lambda: analyzer.detector(image),
            "align (224 crop)": lambda: align_face(image, face.landmarks, analyzer.crop_size),
            "embed (SFace)": lambda: analyzer.embedder(image, face),
            "mesh (FaceMesh)": lambda: analyzer.mesher(image, face),
            "pose + quality": lambda: (head_pose(vertices), face_quality(face.size, face.score, sharpness(crop))),
        }
        print("\nstages on the 1024 px photo, median:")
        for name, fn in stages.items():
            med, _ = _median_ms(fn, args.runs)
            print(f"  {name:22s} {med:7.2f} ms")
    analyzer.close()


if __name__ == "__main__":
    main()
