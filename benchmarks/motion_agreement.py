"""Does the `nano` motion model do what the prompt says? A 30-prompt head-action suite.

    python benchmarks/motion_agreement.py [--model DIR] [--seeds 2] [--threads 1]

Each prompt is sampled with a few seeds (each seed with its own reference pose) and the generated
yaw / pitch / roll are judged with the evaluation's checker (:mod:`idvid.engines.nano.motion_check`):
on all 49 frames, and on the 16 uniformly sampled frames the video evaluation reads. Half the
prompts are held-out paraphrases (phrases the training sampler never writes). Also prints
seed diversity, same-seed repeatability, idle behaviour, a few non-head controls, and the
sampling time. Exits non-zero when the overall head-action agreement is below 85%.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time

import numpy as np
import torch

from idvid.engines.nano.captions import heldout_surface_forms
from idvid.engines.nano.head_actions import HeadAction, classify_actions
from idvid.engines.nano.motion import MotionGenerator
from idvid.engines.nano.motion_check import check_prompt_motion
from idvid.eval.context import sample_indices

A = HeadAction
# (prompt, expected head action); the held-out ones are recognised by heldout_surface_forms().
SUITE = [
    ("a woman turns her head to the left", A.TURN_LEFT),
    ("he looks to his left", A.TURN_LEFT),
    ("On a beach at sunset, a woman turns to her left and smiles", A.TURN_LEFT),
    ("she glances over her left shoulder", A.TURN_LEFT),
    ("the man whips his head round to the left", A.TURN_LEFT),
    ("a man turns to the right", A.TURN_RIGHT),
    ("she rotates her head to her right", A.TURN_RIGHT),
    ("he glances over his right shoulder", A.TURN_RIGHT),
    ("a woman peeks to her right", A.TURN_RIGHT),
    ("a woman nods", A.NOD),
    ("the man nods in agreement", A.NOD),
    ("she nods approvingly", A.NOD),
    ("he bobs his head up and down", A.NOD),
    ("a man shakes his head", A.SHAKE),
    ("he shakes his head in disagreement", A.SHAKE),
    ("she shakes her head in disbelief", A.SHAKE),
    ("she looks up", A.LOOK_UP),
    ("a man lifts his chin", A.LOOK_UP),
    ("he looks up at the sky", A.LOOK_UP),
    ("she throws her head back", A.LOOK_UP),
    ("a woman looks down", A.LOOK_DOWN),
    ("he lowers his gaze", A.LOOK_DOWN),
    ("she bows her head", A.LOOK_DOWN),
    ("the man looks down at his feet", A.LOOK_DOWN),
    ("she tilts her head to the left", A.TILT_LEFT),
    ("he cocks his head to the left", A.TILT_LEFT),
    ("a woman tilts her head toward her left shoulder", A.TILT_LEFT),
    ("he tilts his head to the right", A.TILT_RIGHT),
    ("she cocks her head to the right", A.TILT_RIGHT),
    ("a man tilts his head toward his right shoulder", A.TILT_RIGHT),
]
POSES = [(0.0, 0.0, 0.0), (-15.0, 5.0, -3.0), (12.0, -6.0, 4.0), (25.0, 0.0, 0.0)]
IDLE = ["a portrait of a woman", "", "a man on a city street at night"]
# Non-head controls: (prompt, control, test on the track column, description).
OTHER = [
    ("a woman smiles", "smile", lambda c: c.max() > 0.45, "smile > 0.45"),
    ("he laughs out loud", "mouth_open", lambda c: c.max() > 0.25, "mouth_open > 0.25"),
    ("she opens her mouth wide", "mouth_open", lambda c: c.max() > 0.4, "mouth_open > 0.4"),
    ("he raises his eyebrows", "brow_raise", lambda c: c.max() > 0.45, "brow_raise > 0.45"),
    ("she frowns", "brow_raise", lambda c: c.min() < -0.35, "brow_raise < -0.35"),
    ("the camera zooms in", "zoom", lambda c: c[-1] > 1.12, "final zoom > 1.12"),
    ("the camera pulls back", "zoom", lambda c: c[-1] < 0.92, "final zoom < 0.92"),
    ("the camera pans to the left", "pan_x", lambda c: c[-1] < -0.04, "final pan_x < -0.04"),
    ("the light dims", "light_gain", lambda c: c[-1] < 0.85, "final light_gain < 0.85"),
    ("the light turns warm", "light_warmth", lambda c: c[-1] > 0.3, "final light_warmth > 0.3"),
    ("a man leans in toward the camera", "scale", lambda c: c.max() > 1.08, "scale > 1.08"),
]


HELDOUT_FORMS = heldout_surface_forms()


def is_heldout(prompt: str) -> bool:
    return any(form in prompt.lower() for form in HELDOUT_FORMS)


def judge(prompt: str, track, frames: np.ndarray | None = None) -> bool:
    """All head actions of the prompt pass the checker on the track's (optionally subsampled) angles."""
    angles = [track.column(axis) for axis in ("yaw", "pitch", "roll")]
    if frames is not None:
        angles = [a[frames] for a in angles]
    checks = check_prompt_motion(prompt, *angles)
    return bool(checks) and all(c.passed for c in checks)


def head_suite(generator: MotionGenerator, seeds: int) -> dict:
    sampled = sample_indices(49)
    rows, results = [], {"all": [], "heldout": [], "seen": [], "all16": []}
    for prompt, action in SUITE:
        if classify_actions(prompt) != [action] and action not in classify_actions(prompt):
            raise AssertionError(f"the checker reads {prompt!r} as {classify_actions(prompt)}, not {action}")
        marks = []
        for seed in range(seeds):
            track = generator(prompt, reference_pose=POSES[seed % len(POSES)], seed=seed)
            ok, ok16 = judge(prompt, track), judge(prompt, track, sampled)
            marks.append("P" if ok else "F")
            results["all"].append(ok)
            results["all16"].append(ok16)
            results["heldout" if is_heldout(prompt) else "seen"].append(ok)
        rows.append((prompt, action.value, is_heldout(prompt), "".join(marks)))
    width = max(len(r[0]) for r in rows)
    print(f"{'prompt':<{width}}  {'action':<10}  held-out  seeds")
    for prompt, action, heldout, marks in rows:
        print(f"{prompt:<{width}}  {action:<10}  {'yes' if heldout else '':<8}  {marks}")
    return {k: float(np.mean(v)) for k, v in results.items()} | {"takes": len(results["all"])}


def diversity(generator: MotionGenerator) -> tuple[float, bool]:
    """Mean pairwise RMS distance (degrees, yaw/pitch/roll) between 4 seeds of the same prompts;
    and whether the same seed twice gives an identical track."""
    distances = []
    for prompt in ("a woman nods", "a man turns to the right", "a portrait of a woman"):
        takes = [generator(prompt, seed=s).values[:, :3] for s in range(4)]
        distances += [np.sqrt(((a - b) ** 2).mean()) for a, b in itertools.combinations(takes, 2)]
    first, again = generator("she tilts her head to the left", seed=7), generator("she tilts her head to the left", seed=7)
    return float(np.mean(distances)), bool(np.array_equal(first.values, again.values))


def idle(generator: MotionGenerator) -> list[tuple[str, int, float, float]]:
    """Per idle prompt and seed: blinks (frames with blink >= 0.5, as separate events), max blink,
    head sway (std of yaw + pitch + roll, degrees)."""
    rows = []
    for prompt, seed in itertools.product(IDLE, range(2)):
        track = generator(prompt, seed=seed)
        closed = track.column("blink") >= 0.5
        events = int(closed[0]) + int(np.sum(closed[1:] & ~closed[:-1]))
        sway = float(np.std(track.values[:, :3], axis=0).sum())
        rows.append((prompt or '""', events, float(track.column("blink").max()), sway))
    return rows


def other_controls(generator: MotionGenerator, seeds: int) -> list[tuple[str, str, float]]:
    rows = []
    for prompt, name, test, description in OTHER:
        passed = [bool(test(generator(prompt, seed=s).column(name))) for s in range(seeds)]
        rows.append((prompt, description, float(np.mean(passed))))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="MotionGenerator directory (default: the shipped one)")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    generator = MotionGenerator.from_pretrained(args.model)
    generator("warm-up", seed=0)  # loads MiniLM
    start = time.perf_counter()
    for seed in range(5):
        generator("a woman turns to her left", seed=seed)
    seconds = (time.perf_counter() - start) / 5

    head = head_suite(generator, args.seeds)
    print(f"\nhead-action agreement, all 49 frames: {head['all']:.1%} of {head['takes']} takes "
          f"(held-out paraphrases {head['heldout']:.1%}, seen phrasings {head['seen']:.1%})")
    print(f"head-action agreement, 16 sampled frames (as the video evaluation reads them): {head['all16']:.1%}")
    spread, repeatable = diversity(generator)
    print(f"seed diversity: mean pairwise RMS {spread:.2f} deg between takes; same seed twice identical: {repeatable}")
    print("idle prompts (prompt, blink events, max blink, head sway deg):")
    for prompt, events, peak, sway in idle(generator):
        print(f"  {prompt:<34} blinks={events}  max={peak:.2f}  sway={sway:.2f}")
    print("other controls (prompt, test, pass rate):")
    for prompt, description, rate in other_controls(generator, args.seeds):
        print(f"  {prompt:<34} {description:<26} {rate:.0%}")
    steps = generator.defaults["num_inference_steps"]
    print(f"sampling time, 49 frames, {steps} steps with guidance: {seconds * 1000:.0f} ms")
    return 0 if head["all"] >= 0.85 else 1


if __name__ == "__main__":
    sys.exit(main())
