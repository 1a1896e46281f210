"""nano driven by a video (``--drive``): the photo follows a driving video's head and face, the
prompt keeps the scene, the driving video's sound is kept, faceless frames are bridged.

The driving video (tests/conftest.py) is Grace Hopper's photo moved by a known control track, so
what the astronaut's video should do is known; both are measured with the face stack."""

import av
import numpy as np
import pytest
from cli_helpers import error_line, run_cli
from drive_helpers import DRIVE_FPS as FPS
from drive_helpers import DRIVE_FRAMES as FRAMES
from drive_helpers import DRIVE_GAP as GAP
from drive_helpers import control_column as column

from idvid.video import read_video, write_video


def test_the_photo_follows_the_driving_video(shipped_nano, analyzer, driving_video, known_track, astronaut_path):
    from idvid.render.mesh_controls import clip_meshes, measure_controls

    out = shipped_nano("a woman on a beach at sunset", astronaut_path, drive=driving_video)
    assert out.frames.shape == (FRAMES, 256, 256, 3) and out.fps == FPS  # the video sets length and rate
    assert out.understood["actions"] == ["from the driving video drive.mp4"]
    assert out.understood["scene"] == "beach at sunset"
    measured = measure_controls(clip_meshes(out.frames, analyzer))
    assert measured.found.all()  # the faceless driving frames were bridged: the person stays
    for name, least in (("yaw", 0.95), ("mouth_open", 0.8)):
        agreement = np.corrcoef(known_track[:, column(name)], measured.values[:, column(name)])[0, 1]
        assert agreement > least, (name, agreement)
    yaw = measured.values[:, column("yaw")]
    assert np.ptp(yaw) > 20  # a real turn, not a twitch (the known one spans 40 degrees)
    assert np.abs(np.diff(yaw[GAP.start - 1:GAP.stop + 1])).max() < 4  # bridged smoothly, no jump


def test_the_cli_keeps_the_driving_sound_unless_told_not_to(capsys, caplog, tmp_path, driving_video, astronaut_path):
    with_sound, silent = tmp_path / "with.mp4", tmp_path / "silent.mp4"
    for out, extra in ((with_sound, []), (silent, ["--no-audio"])):
        code, stdout, err = run_cli(capsys, "generate", "--face", astronaut_path, "--prompt", "a woman nods",
                                    "--drive", driving_video, "--out", out, *extra)
        assert code == 0, err
    assert "nano did not use: nod (the driving video sets the motion)" in caplog.text  # a "warning:" line
    with av.open(str(with_sound)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert audio.codec_context.name == "aac"
        seconds = float(audio.duration * audio.time_base)
        assert abs(seconds - FRAMES / FPS) < 0.05  # the 4 s tone is cut at the video's 3 s
        assert float(video.duration * video.time_base) == pytest.approx(FRAMES / FPS)
    with av.open(str(silent)) as container:
        assert not container.streams.audio
    assert read_video(silent).frames.shape[0] == FRAMES


def test_fps_resamples_the_driving_motion(shipped_nano, driving_video, astronaut_path):
    out = shipped_nano("a woman nods", astronaut_path, drive=driving_video, fps=10, output_type="stream")
    assert len(out.frames) == FRAMES // 2 and out.fps == 10


@pytest.mark.parametrize(("extra", "message"), [
    (["--frames", "30"], "the driving video sets the length: leave out --frames and --seconds"),
    (["--seconds", "2"], "the driving video sets the length: leave out --frames and --seconds"),
    (["--model", "tiny"], "--drive works with nano only; tiny makes its own motion"),
])
def test_cli_refuses_what_cannot_go_with_a_driving_video(capsys, tmp_path, driving_video, astronaut_path,
                                                         extra, message):
    code, _, err = run_cli(capsys, "generate", "--face", astronaut_path, "--prompt", "a woman nods",
                           "--drive", driving_video, "--out", tmp_path / "x.mp4", *extra)
    assert code == 1 and error_line(err) == f"error: {message}"
    assert "loading model" not in err


def test_a_bad_or_faceless_driving_video_is_one_line(capsys, tmp_path, astronaut_path):
    not_video = tmp_path / "notes.mp4"
    not_video.write_text("not a video")
    code, _, err = run_cli(capsys, "generate", "--face", astronaut_path, "--prompt", "a woman nods",
                           "--drive", not_video, "--out", tmp_path / "x.mp4")
    assert code == 1 and error_line(err).startswith(f"error: {not_video}: not a readable video")
    assert "loading model" not in err

    wall = write_video(np.full((10, 64, 64, 3), 90, np.uint8), tmp_path / "wall.mp4", fps=10)
    code, _, err = run_cli(capsys, "generate", "--face", astronaut_path, "--prompt", "a woman nods",
                           "--drive", wall, "--out", tmp_path / "y.mp4")
    assert code == 1 and error_line(err) == f"error: no face found in the driving video {wall}"
    assert "loading model" not in err and not (tmp_path / "y.mp4").exists()  # a sampled look, before loading

    code, _, err = run_cli(capsys, "generate", "--face", astronaut_path, "--prompt", "a woman nods",
                           "--drive", astronaut_path, "--out", tmp_path / "z.mp4")
    assert code == 1 and error_line(err) == f"error: {astronaut_path} is a still image; a driving video is needed"
