"""nano driven by a video (``--drive``): the photo follows a driving video's head and face, the
prompt keeps the scene, the driving video's sound is kept, faceless frames are bridged.

The driving video is rendered here from Grace Hopper's photo with a known control track, so
what the astronaut's video should do is known; both are measured with the face stack."""

import av
import numpy as np
import pytest
from cli_helpers import error_line, run_cli

from idvid.render.controls import CONTROL_NAMES, NEUTRAL, ControlTrack
from idvid.video import read_video, write_video

FPS, FRAMES = 20, 60
GAP = slice(40, 44)  # 0.2 s without a face


def column(name: str) -> int:
    return CONTROL_NAMES.index(name)


@pytest.fixture(scope="module")
def known_track() -> np.ndarray:
    t = np.arange(FRAMES) / FPS
    values = np.tile(NEUTRAL.to_array(), (FRAMES, 1))
    values[:, column("yaw")] = 20 * np.sin(2 * np.pi * t / 3)
    values[:, column("mouth_open")] = 0.8 * np.clip(np.sin(2 * np.pi * t / 1.5), 0, 1)
    return values


@pytest.fixture(scope="module")
def driving_video(tmp_path_factory, grace, grace_obs, known_track):
    """Grace moved by ``known_track``, a grey gap with no face, and a 440 Hz tone for sound."""
    from idvid.render import Portrait, PortraitRenderer

    renderer = PortraitRenderer(Portrait.from_observation(grace, grace_obs), (256, 256), None)
    frames = renderer.render_track(ControlTrack(known_track), fps=FPS)
    frames[GAP] = 128
    folder = tmp_path_factory.mktemp("drive")
    tone = folder / "tone.wav"
    with av.open(str(tone), "w") as container:  # 4 s: longer than the video, so it must be cut
        stream = container.add_stream("pcm_s16le", rate=16000, layout="mono")
        samples = (0.3 * np.sin(2 * np.pi * 440 * np.arange(64000) / 16000) * 32767).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(samples[None], format="s16", layout="mono")
        frame.rate = 16000
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    return write_video(frames, folder / "drive.mp4", fps=FPS, audio=tone)


def test_the_photo_follows_the_driving_video(shipped_nano, analyzer, driving_video, known_track, astronaut_path):
    from idvid.render.mesh_controls import clip_meshes, measure_controls

    out = shipped_nano("a woman on a beach at sunset", astronaut_path, drive=driving_video)
    assert out.frames.shape == (FRAMES, 256, 256, 3) and out.fps == FPS  # the video sets length and rate
    assert out.understood["actions"] == ["from the driving video drive.mp4"] and out.understood["scene"] == "beach"
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
    assert not (tmp_path / "y.mp4").exists()
