"""nano says what it took from a prompt and which words it did not use: in a line, in the API's
result and in the video file, never dropping a request silently."""

import json

import av
import numpy as np
import pytest
from cli_helpers import run_cli

from idvid.engines.nano.captions import SCENES, write_caption
from idvid.engines.nano.motion_programs import sample_steps
from idvid.engines.nano.understanding import understand


@pytest.mark.parametrize(("prompt", "actions", "scene", "light", "unused"), [
    ("a woman turns to her left and smiles, on a beach at sunset", ["turn_left", "smile"], "beach at sunset",
     ["sunset"], []),
    ("he nods in a city street at night, in the rain", ["nod"], "city at night, in the rain", ["night", "rain"], []),
    ("she looks left and right", ["turn_left", "turn_right"], "the photo's own background", [], []),
    ("on the beach at sunset, then in the forest at night", [], "beach at sunset", ["sunset"], ["forest", "night"]),
    ("it is not raining in a studio at dawn", [], "studio at dawn", ["dawn"], []),  # one time acts; no rain
    ("he shakes his head from side to side", ["shake"], "the photo's own background", [], []),
    ("she glances over her left shoulder in a snowy forest", ["turn_left"], "snow", [], ["forest"]),  # one place wins
    ("the camera zooms in as she tilts her head to the right, in front of a red wall",
     ["zoom_in", "tilt_right"], "red backdrop", [], []),
    ("she talks and laughs in front of a striped blue and white wall", ["talk", "laugh"],
     "blue and white stripes", [], []),
    ("a man in a red shirt plays the guitar and nods, warm light", ["nod"], "the photo's own background",
     ["warm light"], ["red", "shirt", "plays", "guitar"]),  # clothing colours set no scene
    ("Grace waves hello to her friends at the airport", [], "the photo's own background", [],
     ["grace", "waves", "hello", "friends", "airport"]),
])
def test_prompts_are_read_into_actions_scene_light_and_unused_words(prompt, actions, scene, light, unused):
    assert understand(prompt).as_dict() == {"actions": actions, "negated": [], "scene": scene, "light": light,
                                            "unused": unused}


@pytest.mark.parametrize(("prompt", "actions", "negated", "motion_prompt"), [
    ("she does not smile and never nods", [], ["smile", "nod"], ""),
    ("a woman doesn't smile, then turns to her left", ["turn_left"], ["smile"], "a woman , then turns to her left"),
    ("a man nods without smiling on a beach", ["nod"], ["smile"], "a man nods on a beach"),
    ("no, she nods", ["nod"], [], "no, she nods"),  # a negation does not reach across a comma
])
def test_what_a_prompt_negates_is_not_asked_of_the_motion_model(prompt, actions, negated, motion_prompt):
    understood = understand(prompt)
    assert (list(understood.actions), list(understood.negated), understood.motion_prompt) == (
        actions, negated, motion_prompt)


def test_every_training_caption_is_understood():
    """The vocabulary the motion model learned is all read: every action of 400 sampled programs
    (half in held-out paraphrases), and no word unused but those of scenes nano does not draw."""
    rng = np.random.default_rng(0)
    scene_words = {w for scene in SCENES for w in scene.split()}
    for i in range(400):
        steps = sample_steps(rng)
        understood = understand(write_caption(steps, rng, heldout=bool(i % 2)))
        assert set(understood.actions) == {step.action for step in steps}
        assert set(understood.unused) <= scene_words


def test_cli_says_it_and_the_file_and_the_result_keep_it(capsys, caplog, tmp_path, astronaut_path):
    out = tmp_path / "guitar.mp4"
    prompt = "a woman plays the guitar and turns to her left in front of a blue wall at sunset"
    code, stdout, err = run_cli(capsys, "generate", "--face", astronaut_path, "--prompt", prompt, "--out", out,
                                "--frames", "12", "--height", "128", "--width", "128")
    assert code == 0, err
    assert "nano did not use: plays, guitar" in caplog.text  # a warning, as generation starts
    assert "nano took from the prompt: actions: turn left; scene: blue backdrop; light: sunset" in stdout
    comment = av.open(str(out)).metadata["comment"]
    assert json.loads(comment.removeprefix("idvid understood: ")) == understand(prompt).as_dict()
