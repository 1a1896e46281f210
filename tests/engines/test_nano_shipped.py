"""The default engine as users get it: the motion model shipped in the package, through the same
CLI path `make demo` takes, scored by idvid's own evaluation on real photos."""

import pytest
from cli_helpers import run_cli

from idvid.eval import evaluate_video
from idvid.video import read_video

SIZE = dict(num_frames=48, height=192, width=160, fps=24, seed=0)


def test_cli_with_the_shipped_weights_makes_the_person_do_what_was_asked(capsys, caplog, tmp_path, astronaut_path):
    out = tmp_path / "turn.mp4"
    prompt = "she turns to her left and smiles, on a beach"
    code, stdout, err = run_cli(
        capsys, "generate", "--face", astronaut_path, "--prompt", prompt, "--out", out, "--frames", 48,
        "--height", 192, "--width", 160, "--fps", 24, "--negative-prompt", "blurry", "--id-guidance", 3)
    assert code == 0, err
    said = caplog.text  # the CLI prints these as "warning: ..." lines
    assert "nano ignores --negative-prompt" in said and "nano ignores --id-guidance" in said
    video = read_video(out)
    assert video.frames.shape == (48, 192, 160, 3) and video.fps == 24
    result = evaluate_video(out, [astronaut_path], prompt, ["facesim", "identity_stability", "prompt_motion",
                                                             "copy_paste"])
    values = result.values
    assert values["facesim"] >= 0.6 and values["facesim_min"] >= 0.45, values  # holds through the turn
    assert values["prompt_motion_match"] == 1.0, result.info["prompt_motion"]
    # The same person, moving: not a pasted still (a still of the photo is flagged, test_eval_identity).
    assert values["copy_paste"] == 0.0 and values["pose_yaw_std"] > 2.0, values


@pytest.mark.parametrize("photo, prompt", [
    ("astronaut", "she turns to her right"),
    ("astronaut", "she looks up at the sky"),
    ("astronaut", "she looks down at the floor"),
    ("grace", "she turns to her left"),
    ("grace", "she shakes her head"),
])
def test_the_head_moves_as_the_prompt_says(shipped_nano, astronaut_path, grace_path, photo, prompt):
    path = {"astronaut": astronaut_path, "grace": grace_path}[photo]
    frames = shipped_nano(prompt=prompt, faces=[path], **SIZE).frames
    result = evaluate_video(frames, [path], prompt, ["facesim", "prompt_motion"], fps=SIZE["fps"])
    assert result.values["prompt_motion_match"] == 1.0, result.info["prompt_motion"]
    assert result.values["facesim"] >= 0.6, result.values
