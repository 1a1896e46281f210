"""Long nano takes keep the motion model's pace (several clips, cross-faded, not one stretched),
play the prompt's steps in order, and join without jumps; --seconds sets the length."""

import numpy as np
from cli_helpers import error_line, run_cli

from idvid.engines.nano.limits import DEFAULTS
from idvid.engines.nano.takes import plan_clips, sequence
from idvid.render.controls import CONTROL_NAMES
from idvid.video import read_video

FPS = 12
YAW, PITCH = CONTROL_NAMES.index("yaw"), CONTROL_NAMES.index("pitch")


def period(values: np.ndarray) -> float:
    """Seconds of the strongest oscillation."""
    spectrum = np.abs(np.fft.rfft(values - values.mean()))
    return 1 / np.fft.rfftfreq(len(values), 1 / FPS)[1:][np.argmax(spectrum[1:])]


def test_a_prompt_splits_into_its_steps_in_order():
    assert sequence("a woman turns to her left, then nods") == ["a woman turns to her left", "nods"]
    assert sequence("she smiles and then looks up. Then she talks") == ["she smiles", "looks up", "she talks"]
    assert sequence("she turns left and nods") == ["she turns left and nods"]  # at once, not in turn
    clips = plan_clips("a woman talks, then nods", 20 * FPS, FPS)
    assert [c.prompt for c in clips] == ["a woman talks", "a woman talks", "nods", "a person"]  # talking goes on
    assert clips[-1].start + clips[-1].frames == 20 * FPS and len(plan_clips("nods", 7 * FPS, FPS)) == 1


def test_a_long_take_nods_at_the_pace_of_a_short_one_and_joins_without_jumps(shipped_nano, astronaut_obs):
    short = shipped_nano.controls("a woman nods", astronaut_obs.pose, 6 * FPS, 0, fps=FPS).values
    long = shipped_nano.controls("a woman nods", astronaut_obs.pose, 30 * FPS, 0, fps=FPS).values
    assert 0.6 < period(long[:6 * FPS, PITCH]) / period(short[:, PITCH]) < 1.6  # stretched would be 5x
    jumps = [np.abs(np.diff(track[:, :3], axis=0)).max() for track in (short, long)]
    assert jumps[1] <= 1.2 * jumps[0]  # the joins move no faster than the motion itself


def test_the_prompts_steps_happen_in_order(shipped_nano, astronaut_obs):
    take = shipped_nano.controls("a woman turns to her left, then nods", astronaut_obs.pose, 24 * FPS, 0, fps=FPS).values
    first, second = take[:12 * FPS], take[12 * FPS:]
    assert first[:, YAW].mean() - second[:, YAW].mean() > 5  # she turns first ...
    assert second[:, PITCH].std() > 2 * first[:, PITCH].std()  # ... and nods after


def test_seconds_set_the_length_on_the_models_frame_grid(capsys, tmp_path, astronaut_path):
    out = tmp_path / "long.mp4"
    code, _, err = run_cli(capsys, "generate", "--face", astronaut_path, "--prompt", "she nods", "--seconds", "10",
                           "--height", "64", "--width", "64", "--out", out)
    assert code == 0, err
    assert read_video(out).frames.shape[0] == 10 * DEFAULTS["fps"]  # at nano's default fps
    code, _, err = run_cli(capsys, "generate", "--model", "tiny", "--face", astronaut_path, "--prompt", "she nods",
                           "--seconds", "2", "--steps", "1", "--out", tmp_path / "tiny.mp4")
    assert code == 0 and read_video(tmp_path / "tiny.mp4").frames.shape[0] == 17  # 16 at 8 fps, on Wan's 4k+1
    code, _, err = run_cli(capsys, "generate", "--face", astronaut_path, "--prompt", "she nods", "--seconds", "2",
                           "--frames", "24", "--out", tmp_path / "x.mp4")
    assert code == 1 and error_line(err) == "error: give --frames or --seconds, not both"


def test_a_short_take_gives_each_step_its_share(shipped_nano, astronaut_obs):
    clips = plan_clips("she turns to her left, then turns to her right", 6 * FPS, FPS)
    assert [c.prompt for c in clips] == ["she turns to her left", "turns to her right"]
    assert clips[0].start == 0 and clips[-1].start + clips[-1].frames == 6 * FPS and clips[1].start < clips[0].frames
    from idvid.engines.nano.understanding import understand

    # "left and right" is two steps: the head goes both ways within six seconds
    prompt = understand("she looks left and right").motion_prompt
    yaw = shipped_nano.controls(prompt, astronaut_obs.pose, 6 * FPS, 0, fps=FPS).values[:, YAW]
    assert yaw[: 3 * FPS].max() > 15 and yaw[3 * FPS:].min() < -15 and yaw.argmax() < yaw.argmin()
