"""How well do control tracks measured from clips (:mod:`idvid.data.tracks`) recover the motion
that made them? Held-out ``idvid synth`` clips carry their ground-truth controls.

    python benchmarks/track_recovery.py [--store DIR] [--identities 6] [--clips-per-identity 6]
                                        [--size 128] [--frames 49] [--seed 11]

Without ``--store``, a synth store with 80% of the identities held out is made in a temporary
folder. Each clip frame's measured controls (relative to the clip's first frame) are compared with
the ground truth made relative to its first frame the same way: head angles, shifts and
expressions differenced, scale divided. Camera zoom and pan move the person in the
picture too, so tx / ty / scale are compared only on clips without them. Per control, pooled over
frames: Pearson correlation, mean absolute error, the least-squares slope of measured on true, and
the true spread (standard deviation), on all compared frames and on the frames where the control
is "active" (true value far from its start).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

HEAD = ("yaw", "pitch", "roll")
PLACEMENT = ("tx", "ty", "scale")
EXPRESSIONS = ("smile", "mouth_open", "blink", "brow_raise")
ACTIVE = {"yaw": 5.0, "pitch": 5.0, "roll": 5.0, "tx": 0.03, "ty": 0.015, "scale": 0.05, "smile": 0.2,
          "mouth_open": 0.2, "blink": 0.5, "brow_raise": 0.2}


def relative_truth(controls: np.ndarray) -> dict[str, np.ndarray]:
    """(T, 16) ground truth (relative to the photo) -> control name -> (T,) relative to frame 0."""
    from idvid.render.controls import CONTROL_NAMES

    col = {n: controls[:, CONTROL_NAMES.index(n)] for n in CONTROL_NAMES}
    # head angles add to the photo's (HeadFrame.relative_rotation), so frame 0 is subtracted too
    truth = {n: col[n] - col[n][0] for n in (*HEAD, "tx", "ty", *EXPRESSIONS)}
    truth["scale"] = col["scale"] / col["scale"][0]
    return truth


def camera_moves(controls: np.ndarray) -> bool:
    from idvid.render.controls import CONTROL_NAMES

    camera = controls[:, [CONTROL_NAMES.index(n) for n in ("zoom", "pan_x", "pan_y")]]
    return bool(np.ptp(camera, axis=0).max() > 1e-3)


def stats(measured: np.ndarray, truth: np.ndarray) -> str:
    if not len(truth):
        return "no frames"
    if len(truth) < 3 or truth.std() < 1e-9:
        return f"{'n/a':>6} {np.abs(measured - truth).mean():8.3f} {'n/a':>6} {truth.std():7.3f} {len(truth):5d}"
    corr = np.corrcoef(measured, truth)[0, 1]
    slope = np.polyfit(truth, measured, 1)[0]
    return f"{corr:6.3f} {np.abs(measured - truth).mean():8.3f} {slope:6.2f} {truth.std():7.3f} {len(truth):5d}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", help="an idvid synth store with held-out clips (default: make one)")
    parser.add_argument("--identities", type=int, default=6)
    parser.add_argument("--clips-per-identity", type=int, default=6)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--frames", type=int, default=49)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()

    import torch

    from idvid.data.store import ClipStore
    from idvid.data.synth import synthesize
    from idvid.data.tracks import clip_measures
    from idvid.render.controls import CONTROL_NAMES

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        root = args.store or str(Path(tmp) / "synth")
        if not args.store:
            start = time.perf_counter()
            synthesize(root, identities=args.identities, clips_per_identity=args.clips_per_identity, seed=args.seed,
                       size=args.size, num_frames=args.frames, heldout_fraction=0.8, progress=False)
            print(f"synth: {time.perf_counter() - start:.0f} s")
        store = ClipStore(root)
        metas = [store.meta(m["clip_id"]) for m in store.clips(split="heldout")]
        if not metas:
            raise SystemExit(f"no held-out clips in {root}")
        start = time.perf_counter()
        clips = [(meta, clip_measures(store, meta["clip_id"])) for meta in metas]
        seconds = time.perf_counter() - start
    frames = sum(len(m.values) for _, m in clips)
    found = np.mean([m.found.mean() for _, m in clips])
    print(f"{len(clips)} held-out clips, {frames} frames, faces found in {found:.1%}; "
          f"decoding and face analysis {1000 * seconds / frames:.1f} ms/frame (about 0 when the tracks were cached)")
    pooled: dict[str, tuple[list, list]] = {}
    for meta, measures in clips:
        controls = np.asarray(meta["controls"], dtype=np.float64)
        truth = relative_truth(controls)
        found = measures.found
        for name in (*HEAD, *PLACEMENT, *EXPRESSIONS):
            if name in PLACEMENT and camera_moves(controls):
                continue
            m, t = pooled.setdefault(name, ([], []))
            m.append(measures.values[found, CONTROL_NAMES.index(name)])
            t.append(truth[name][found])
    print(f"{'control':<11} {'frames':<7} {'corr':>6} {'mean|e|':>8} {'slope':>6} {'true sd':>7} {'n':>5}")
    for name, (m, t) in pooled.items():
        m, t = np.concatenate(m), np.concatenate(t)
        active = np.abs(t - (1.0 if name == "scale" else 0.0)) >= ACTIVE[name]
        print(f"{name:<11} {'all':<7} {stats(m, t)}")
        print(f"{'':<11} {'active':<7} {stats(m[active], t[active])}")


if __name__ == "__main__":
    main()
