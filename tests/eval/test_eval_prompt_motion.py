"""Head-action vocabulary and the pose-trajectory checker (no rendering: pose series are fed
directly), plus the metric on a real rotated sequence."""

from __future__ import annotations

import numpy as np
import pytest
from eval_helpers import rotated_clip

from idvid.engines.nano.head_actions import ACTIONS, HeadAction, classify_action, classify_actions
from idvid.engines.nano.motion_check import check_action, check_prompt_motion, swings
from idvid.eval import evaluate_video

A = HeadAction

PHRASINGS = [
    ("a woman turns her head to the left", [A.TURN_LEFT]),
    ("he turns left", [A.TURN_LEFT]),
    ("she glances over her left shoulder", [A.TURN_LEFT]),
    ("the girl looks leftward, then smiles", [A.TURN_LEFT]),
    ("a man looks to his right", [A.TURN_RIGHT]),
    ("turning her face to the right, she laughs", [A.TURN_RIGHT]),
    ("he glances over his right shoulder at the street", [A.TURN_RIGHT]),
    ("an old man nods in agreement", [A.NOD]),
    ("nodding slowly while listening", [A.NOD]),
    ("she bobs her head to the music", [A.NOD]),
    ("he shakes his head in disagreement", [A.SHAKE]),
    ("she shook her head no", [A.SHAKE]),
    ("a man looks up at the sky", [A.LOOK_UP]),
    ("she raises her head and smiles", [A.LOOK_UP]),
    ("gazing upward at the stars", [A.LOOK_UP]),
    ("he throws his head back laughing", [A.LOOK_UP]),
    ("she looks down at her phone", [A.LOOK_DOWN]),
    ("he bows his head in prayer", [A.LOOK_DOWN]),
    ("she lowers her gaze shyly", [A.LOOK_DOWN]),
    ("glancing down at the floor", [A.LOOK_DOWN]),
    ("she tilts her head to the left", [A.TILT_LEFT]),
    ("tilting her head toward her left shoulder", [A.TILT_LEFT]),
    ("he cocks his head to the right curiously", [A.TILT_RIGHT]),
    ("turns and tilts her head to the right", [A.TILT_RIGHT]),
    ("she turns to the left, then nods", [A.TURN_LEFT, A.NOD]),
    ("He Turns LEFT and then looks up at the ceiling", [A.TURN_LEFT, A.LOOK_UP]),
    # no head action
    ("a woman walks on the beach at sunset", []),
    ("a man waves his left hand at the camera", []),
    ("a woman looking at the camera with her left hand raised", []),
    ("he looks right at the camera", []),
    ("she shakes hands with a colleague", []),
    ("he left the room, all right", []),
    ("a woman turns toward the camera and smiles, on a beach at sunset", []),
]


@pytest.mark.parametrize("prompt, expected", PHRASINGS)
def test_classifier(prompt, expected):
    assert classify_actions(prompt) == expected
    assert classify_action(prompt) == (expected[0] if expected else A.NONE)


def test_vocabulary_is_complete_and_signed():
    assert set(ACTIONS) == set(A) - {A.NONE}
    assert ACTIONS[A.TURN_LEFT].axis == "yaw" and ACTIONS[A.TURN_LEFT].sign == +1  # yaw > 0: own left
    assert ACTIONS[A.LOOK_UP].axis == "pitch" and ACTIONS[A.LOOK_UP].sign == +1
    assert ACTIONS[A.TILT_LEFT].axis == "roll" and ACTIONS[A.TILT_LEFT].sign == +1  # clockwise
    assert {ACTIONS[a].kind for a in (A.NOD, A.SHAKE)} == {"oscillate"}


# ---- synthetic trajectories -------------------------------------------------------------------

T = np.linspace(0.0, 1.0, 16)
RAMP = 20.0 * T  # 0 -> 20 degrees
WAVE = 8.0 * np.sin(2 * np.pi * T)  # one full cycle: up first, +-8 degrees
NOISE = 0.8 * np.random.default_rng(0).standard_normal(16)  # estimator jitter
FLAT = np.zeros(16)


def trajectory(yaw=FLAT, pitch=FLAT, roll=FLAT, base=(5.0, -3.0, 2.0)):
    """Absolute angles: an arbitrary starting pose plus the motion plus jitter."""
    return yaw + base[0] + NOISE, pitch + base[1] + NOISE[::-1], roll + base[2] + 0.5 * NOISE


PASSING = {
    A.TURN_LEFT: trajectory(yaw=RAMP),
    A.TURN_RIGHT: trajectory(yaw=-RAMP),
    A.LOOK_UP: trajectory(pitch=RAMP),
    A.LOOK_DOWN: trajectory(pitch=-RAMP),
    A.TILT_LEFT: trajectory(roll=RAMP),
    A.TILT_RIGHT: trajectory(roll=-RAMP),
    A.NOD: trajectory(pitch=-WAVE),  # down, then up
    A.SHAKE: trajectory(yaw=WAVE),
}


@pytest.mark.parametrize("action", list(PASSING))
def test_each_action_passes_its_own_trajectory(action):
    check = check_action(action, *PASSING[action])
    assert check.passed, check.detail
    assert check.measured >= ACTIONS[action].degrees


@pytest.mark.parametrize("action", list(PASSING))
def test_a_still_head_passes_nothing(action):
    assert not check_action(action, *trajectory()).passed


@pytest.mark.parametrize(
    "action, wrong",
    [
        (A.TURN_LEFT, A.TURN_RIGHT),
        (A.TURN_RIGHT, A.TURN_LEFT),
        (A.LOOK_UP, A.LOOK_DOWN),
        (A.LOOK_DOWN, A.LOOK_UP),
        (A.TILT_LEFT, A.TILT_RIGHT),
        (A.TURN_LEFT, A.TILT_LEFT),  # the right amount on the wrong axis
        (A.NOD, A.SHAKE),
        (A.SHAKE, A.NOD),
        (A.NOD, A.LOOK_DOWN),  # going down and staying there is not a nod
        (A.SHAKE, A.TURN_LEFT),
    ],
)
def test_wrong_motion_fails(action, wrong):
    assert not check_action(action, *PASSING[wrong]).passed


def test_thresholds():
    # a turn must reach 10 degrees
    assert not check_action(A.TURN_LEFT, 9.0 * T, FLAT, FLAT).passed
    assert check_action(A.TURN_LEFT, 11.0 * T, FLAT, FLAT).passed
    # a turn that goes further the wrong way first does not count
    right_then_left = np.array([0, -12, -14, -12, -5, 0, 5, 11, 12], float)
    assert not check_action(A.TURN_LEFT, right_then_left, np.zeros(9), np.zeros(9)).passed
    assert check_action(A.TURN_LEFT, -right_then_left, np.zeros(9), np.zeros(9)).passed
    # a nod needs swings of 5 degrees; a 2 degree wobble is jitter
    assert not check_action(A.NOD, FLAT, -2.0 * np.sin(2 * np.pi * T), FLAT).passed
    assert check_action(A.NOD, FLAT, -6.0 * np.sin(2 * np.pi * T), FLAT).passed
    # a shake may start either way
    assert check_action(A.SHAKE, -WAVE, FLAT, FLAT).passed


@pytest.mark.parametrize(
    "prompt, trajectory_of, expected",
    [
        ("she glances over her left shoulder", A.TURN_LEFT, [True]),
        ("she glances over her left shoulder", A.TURN_RIGHT, [False]),
        ("he shakes his head in disagreement", A.SHAKE, [True]),
        ("he shakes his head in disagreement", A.NOD, [False]),
        ("a man looks up at the sky", A.LOOK_UP, [True]),
        ("a man looks up at the sky", A.LOOK_DOWN, [False]),
        ("an old woman nods in agreement", A.NOD, [True]),
        ("she bows her head in prayer", A.LOOK_DOWN, [True]),
        ("cocks his head to the right curiously", A.TILT_RIGHT, [True]),
        ("a woman walks on the beach", A.TURN_LEFT, []),
    ],
)
def test_paraphrases_against_trajectories(prompt, trajectory_of, expected):
    checks = check_prompt_motion(prompt, *PASSING[trajectory_of])
    assert [c.passed for c in checks] == expected


def test_swings():
    assert swings([0, 6, 0, 6, 0], 5) == [6, -6, 6, -6]
    assert swings([0, 1, 2, 1, 0], 5) == []
    assert swings([0, 3, -4, 0], 5) == [-7]  # the last 4 degree rise is too small to count
    # jitter below the hysteresis does not split one move into several
    assert swings([0, 4, 3, 8, 7, 12], 5) == [12]


def test_check_rejects_bad_input():
    with pytest.raises(ValueError, match="nothing to check"):
        check_action(A.NONE, RAMP, RAMP, RAMP)
    with pytest.raises(ValueError, match=">= 2 finite yaw"):
        check_action(A.TURN_LEFT, [1.0], [1.0], [1.0])


def test_metric_sees_an_image_rotation_as_a_head_tilt(astronaut, astronaut_obs, eval_models):
    """Rotating the photo clockwise in the image by 3 degrees a frame (cv2 angles are
    counter-clockwise, hence the minus) is roll > 0: the head tilts to its own left."""
    frames = rotated_clip(astronaut, 6, -3.0)
    left = evaluate_video(frames, astronaut_obs, "she tilts her head to the left", ["prompt_motion"],
                          models=eval_models)
    right = evaluate_video(frames, astronaut_obs, "she tilts her head to the right", ["prompt_motion"],
                           models=eval_models)
    assert left.values["prompt_motion_match"] == 1.0, left.info
    assert right.values["prompt_motion_match"] == 0.0
    none = evaluate_video(frames, astronaut_obs, "a portrait", ["prompt_motion"], models=eval_models)
    assert np.isnan(none.values["prompt_motion_match"])
    assert "names no head action" in none.notes["prompt_motion"]
