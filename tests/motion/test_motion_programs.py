"""Motion programs: deterministic, each action moves the intended control the intended way, and the
captions are clean (no identity words, no held-out paraphrases, read by the evaluation as intended)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from idvid.engines.nano.captions import HELDOUT_PHRASES, heldout_surface_forms, write_caption
from idvid.engines.nano.head_actions import HeadAction, classify_actions
from idvid.engines.nano.motion_check import check_action
from idvid.engines.nano.motion_programs import (
    ACTION_KINDS,
    CLIP_SECONDS,
    MODEL_FRAMES,
    realise,
    sample_clip,
    sample_steps,
)
from idvid.eval.context import sample_indices
from idvid.render.controls import CONTROL_NAMES

HEAD_ACTIONS = [a.value for a in HeadAction if a is not HeadAction.NONE]
SEEDS = range(25)
IDENTITY_WORDS = {
    "blonde", "brunette", "redhead", "hair", "haired", "beard", "bearded", "glasses", "skin", "asian", "african",
    "caucasian", "black", "white", "old", "young", "elderly", "teen", "teenage", "child", "kid", "girl", "boy",
    "tall", "short", "fat", "thin", "slim", "pretty", "handsome", "ugly", "wearing", "dressed", "shirt",
}


def angles(clip):
    return [clip.track.column(axis) for axis in ("yaw", "pitch", "roll")]


def test_same_seed_same_clip_different_seed_different_clip():
    a, b, c = sample_clip(7), sample_clip(7), sample_clip(8)
    assert np.array_equal(a.track.values, b.track.values)
    assert a.caption == b.caption and a.program == b.program
    assert not np.array_equal(a.track.values, c.track.values)
    assert a.track.values.shape == (MODEL_FRAMES, 16)
    json.dumps(a.program)  # plain data


@pytest.mark.parametrize("action", HEAD_ACTIONS)
def test_head_actions_pass_the_evaluation_checker_with_margin(action):
    sampled = sample_indices(MODEL_FRAMES)  # the 16 frames the video evaluation reads
    for seed in SEEDS:
        clip = sample_clip(seed, actions=[action])
        yaw, pitch, roll = angles(clip)
        assert check_action(action, yaw, pitch, roll).passed, (seed, clip.program)
        assert check_action(action, yaw[sampled], pitch[sampled], roll[sampled]).passed, (seed, clip.program)


def test_turns_reach_20_degrees_in_the_named_direction():
    for seed in SEEDS:
        assert sample_clip(seed, actions=["turn_left"]).track.column("yaw").max() >= 20  # own left: yaw > 0
        assert sample_clip(seed, actions=["turn_right"]).track.column("yaw").min() <= -20


def test_nods_and_shakes_oscillate_at_least_twice_with_8_degrees():
    for seed in SEEDS:
        nod = sample_clip(seed, actions=["nod"])
        step = nod.program["steps"][0]
        assert step["cycles"] >= 2 and abs(step["amplitude"]) >= 8 and step["amplitude"] < 0  # down first
        pitch = nod.track.column("pitch")
        assert pitch.max() - pitch.min() >= 14
        shake = sample_clip(seed, actions=["shake"]).track.column("yaw")
        assert shake.max() - shake.min() >= 20


@pytest.mark.parametrize("action, sign", [("look_up", 1), ("look_down", -1)])
def test_looks_move_pitch(action, sign):
    for seed in SEEDS:
        pitch = sample_clip(seed, actions=[action]).track.column("pitch")
        assert (sign * pitch).max() >= 13


@pytest.mark.parametrize("action, sign", [("tilt_left", 1), ("tilt_right", -1)])
def test_tilts_move_roll_towards_the_named_shoulder(action, sign):
    for seed in SEEDS:
        roll = sample_clip(seed, actions=[action]).track.column("roll")
        assert (sign * roll).max() >= 11  # roll > 0: clockwise, towards the head's own left shoulder


@pytest.mark.parametrize(
    "action, control, test",
    [
        ("smile", "smile", lambda c: c.max() >= 0.3),
        ("laugh", "mouth_open", lambda c: c.max() >= 0.25),
        ("talk", "mouth_open", lambda c: c.max() >= 0.1 and np.abs(np.diff(c)).sum() > 0.5),
        ("surprise", "brow_raise", lambda c: c.max() >= 0.6),
        ("frown", "brow_raise", lambda c: c.min() <= -0.4),
        ("raise_brows", "brow_raise", lambda c: c.max() >= 0.5),
        ("lean_in", "scale", lambda c: c.max() >= 1.1),
        ("lean_out", "scale", lambda c: c.min() <= 0.91),
        ("zoom_in", "zoom", lambda c: c[-1] >= 1.18),
        ("zoom_out", "zoom", lambda c: c[-1] <= 0.86),
        ("pan_left", "pan_x", lambda c: c[-1] <= -0.05),
        ("pan_right", "pan_x", lambda c: c[-1] >= 0.05),
        ("dim", "light_gain", lambda c: c[-1] <= 0.76),
        ("brighten", "light_gain", lambda c: c[-1] >= 1.24),
        ("warm", "light_warmth", lambda c: c[-1] >= 0.45),
        ("cool", "light_warmth", lambda c: c[-1] <= -0.45),
    ],
)
def test_other_actions_drive_their_control(action, control, test):
    for seed in range(10):
        assert test(sample_clip(seed, actions=[action]).track.column(control)), seed


def test_face_camera_ends_facing_the_camera():
    for yaw in (-25.0, -8.0, 0.0, 12.0, 30.0):
        clip = sample_clip(3, actions=["face_camera"], reference_pose=(yaw, 6.0, 0.0))
        relative = clip.track.column("yaw")
        assert abs(relative[-1] + yaw) < 3  # absolute yaw ends near 0 (background sway only)
        assert abs(relative[0] + yaw) > 12  # ... after starting turned away


def test_blinks_close_the_eyes_briefly():
    for seed in SEEDS:
        blink = sample_clip(seed).track.column("blink")
        assert blink.max() >= 0.999  # fully closed on at least one frame
        assert (blink > 0.5).mean() <= 0.12  # and open most of the time


def test_idle_is_alive_not_frozen():
    for seed in SEEDS:
        clip = sample_clip(seed, actions=[])
        yaw, pitch, roll = angles(clip)
        assert clip.program["steps"] == []
        assert len(clip.program["blinks"]) >= 1 and clip.track.column("blink").max() >= 0.999
        assert yaw.std() > 0.05 and pitch.std() > 0.02 and clip.track.column("tx").std() > 0
        assert max(np.abs(yaw).max(), np.abs(pitch).max(), np.abs(roll).max()) < 4
        for action in HEAD_ACTIONS:  # the sway is too small to read as any head action
            assert not check_action(action, yaw, pitch, roll).passed, action


def test_curves_are_continuous():
    """Realised at 4x the frame rate, no control jumps between neighbouring frames."""
    frames = 4 * (MODEL_FRAMES - 1) + 1
    limits = {"yaw": 10.0, "pitch": 6.0, "roll": 6.0, "smile": 0.3, "mouth_open": 0.35, "zoom": 0.05}
    for seed in range(60):
        rng = np.random.default_rng(seed)
        values, _ = realise(sample_steps(rng), rng, (10.0, -5.0, 3.0), frames=frames)
        jumps = np.abs(np.diff(values, axis=0)).max(axis=0)
        for name, limit in limits.items():
            assert jumps[CONTROL_NAMES.index(name)] < limit, (seed, name)


def training_captions(seed: int, count: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return [write_caption(sample_steps(rng), rng) for _ in range(count)]


def test_captions_name_no_identity_attributes():
    for caption in training_captions(0, 3000):
        words = set(re.findall(r"[a-z]+", caption.lower()))
        assert not words & IDENTITY_WORDS, words & IDENTITY_WORDS


def test_heldout_paraphrases_never_appear_in_training_captions():
    forms = heldout_surface_forms()
    pattern = re.compile("|".join(re.escape(form) for form in forms))
    for caption in training_captions(1, 5000):
        assert not pattern.search(caption.lower()), caption
    # ... while the held-out sampler does use them.
    for action in HELDOUT_PHRASES:
        caption = sample_clip(2, actions=[action], heldout=True).caption.lower()
        assert any(form in caption for form in forms), caption


@pytest.mark.parametrize("heldout", [False, True])
def test_the_evaluation_reads_each_head_caption_as_its_action(heldout):
    for action in HEAD_ACTIONS:
        for seed in range(40):
            caption = sample_clip(seed, actions=[action], heldout=heldout).caption
            assert classify_actions(caption) == [HeadAction(action)], caption


def test_sampled_programs_have_compatible_steps_that_fit():
    rng = np.random.default_rng(4)
    counts = set()
    for _ in range(2000):
        steps = sample_steps(rng)
        counts.add(len(steps))
        used = [ACTION_KINDS[s.action].resources for s in steps]
        assert sum(len(r) for r in used) == len(set().union(*used))  # no control driven twice
    assert counts == {0, 1, 2, 3}
    assert CLIP_SECONDS == 6.0


def test_unknown_action_is_refused():
    with pytest.raises(ValueError, match="unknown actions"):
        sample_clip(0, actions=["moonwalk"])


def test_idle_captions_never_put_a_pronoun_after_of():
    import re

    from idvid.engines.nano.motion_programs import sample_clip

    captions = [sample_clip(seed).caption for seed in range(600)]
    assert not [c for c in captions if re.search(r"\bof (she|he|they)\b", c)]
