"""Speed of ``idvid synth`` on the CPU: clips/minute for 17-frame 128x128 clips (target >= 20),
with the one-time identity creation reported apart (3N+8 morphed candidates analysed by the
recogniser, then the N most distinct made again; it grows with N, about 1.6 s per identity
for 100 on 2 busy cores with --workers 2).

A clip's time covers: motion program, scene, clothing recolour, 17 rendered frames, 3 reference
renders at 224x224 with face analysis, face statistics on 5 frames (analysis + SFace), H.264
encode, refs npz and json. The per-identity Portrait preparation (person mask, plate) is part
of the first clip of each identity.

    python benchmarks/synth_speed.py [--identities 3] [--clips-per-identity 4] [--size 128] [--frames 17]
                                     [--workers 1] [--out DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--identities", type=int, default=3)
    parser.add_argument("--clips-per-identity", type=int, default=4)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--frames", type=int, default=17)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="keep the dataset here (default: a temporary folder)")
    args = parser.parse_args()

    from idvid.data.synth import format_report, synthesize

    print(f"cpus: {os.cpu_count()}, load average: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or os.path.join(tmp, "synth")
        start = time.perf_counter()
        report = synthesize(out, identities=args.identities, clips_per_identity=args.clips_per_identity,
                            seed=args.seed, size=args.size, num_frames=args.frames, workers=args.workers,
                            progress=False, overwrite=True)
        total = time.perf_counter() - start
    t = report["timing"]
    per_clip = t["clip_seconds"]
    print(format_report(report))
    print(f"identity creation: {t['identities_seconds']:.2f} s for {args.identities} "
          f"({t['identities_seconds'] / args.identities:.2f} s each, incl. loading the face models)")
    print(f"clips: {t['clips_made']} of {args.frames} frames at {args.size}x{args.size}, "
          f"median {statistics.median(per_clip):.2f} s/clip (first {per_clip[0]:.2f} s, includes Portrait set-up)")
    rate = 60.0 * t["clips_made"] / t["clips_wall_seconds"]
    print(f"throughput: {rate:.1f} clips/min with {args.workers} worker(s) (target >= 20); total {total:.1f} s")


if __name__ == "__main__":
    main()
