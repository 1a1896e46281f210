"""nano speaking a sound file (``--audio``): mouth shapes from the voice's spectrum, the sound's
length and the sound itself in the video; the face stack reads the mouth back from the frames."""

import av
import numpy as np
import pytest
from cli_helpers import error_line, run_cli
from speech_helpers import RATE, silence, vowel, write_wav

from idvid.engines.nano.speech import read_sound, speech_motion
from idvid.render.controls import CONTROL_NAMES

FPS = 25
SYLLABLES = ["ah", "ee", "eh", "oo", "ah", "ee"]


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    """0.4 s of silence, six 0.35 s vowels each followed by 0.15 s of silence, 0.4 s of silence."""
    parts = [silence(0.4)] + [np.concatenate([vowel(v, 0.35), silence(0.15)]) for v in SYLLABLES] + [silence(0.4)]
    return write_wav(np.concatenate(parts), tmp_path_factory.mktemp("speech") / "speech.wav")


def segment(values: np.ndarray, start: float, end: float) -> float:
    times = np.arange(len(values)) / FPS
    return float(values[(times > start + 0.08) & (times < end - 0.08)].mean())


def test_mouth_shapes_follow_the_vowels_not_only_the_loudness():
    samples = np.concatenate([silence(0.5), vowel("ah", 0.6), silence(0.4), vowel("ee", 0.6), silence(0.4),
                              vowel("oo", 0.6), silence(0.5)])
    motion = speech_motion(samples.astype(np.float32), int(len(samples) / RATE * FPS), FPS)
    quiet, ah, ee, oo = (0.0, 0.5), (0.5, 1.1), (1.5, 2.1), (2.5, 3.1)
    assert segment(motion.mouth_open, *quiet) < 0.02 and segment(motion.spread, *quiet) < 0.02
    # the three vowels are equally loud: shape, not level, tells them apart
    assert segment(motion.mouth_open, *ah) > segment(motion.mouth_open, *ee) + 0.25  # "ah" drops the jaw
    assert segment(motion.spread, *ee) > segment(motion.spread, *ah) + 0.2  # "ee" spreads the lips
    assert segment(motion.spread, *ee) > segment(motion.spread, *oo) + 0.5  # "oo" rounds them
    assert motion.nod.min() < -1  # the syllables' onsets nod


def test_the_person_speaks_the_sound(shipped_nano, analyzer, speech, grace_path):
    from idvid.render.mesh_controls import clip_meshes, measure_controls

    out = shipped_nano("she sits in an office", grace_path, audio=speech, fps=FPS)
    seconds = len(read_sound(speech)) / RATE
    assert len(out.frames) == round(seconds * FPS) and str(out.audio) == speech
    assert out.understood["actions"][-1] == "speaking speech.wav"
    measured = measure_controls(clip_meshes(out.frames, analyzer)).values[:, CONTROL_NAMES.index("mouth_open")]
    expected = speech_motion(read_sound(speech), len(out.frames), FPS).mouth_open
    assert np.corrcoef(measured, expected)[0, 1] > 0.8  # the face stack reads the voice's mouth back
    assert measured[:int(0.3 * FPS)].max() < 0.15  # closed before the first syllable


def test_the_cli_writes_the_sound_in_unless_told_not_to(capsys, tmp_path, speech, grace_path):
    out, mute = tmp_path / "spoken.mp4", tmp_path / "mute.mp4"
    for path, extra in ((out, []), (mute, ["--no-audio"])):
        code, _, err = run_cli(capsys, "generate", "--face", grace_path, "--prompt", "she talks", "--audio", speech,
                               "--out", path, *extra)
        assert code == 0, err
    with av.open(str(mute)) as container:
        assert not container.streams.audio
    with av.open(str(out)) as container:
        video, sound = container.streams.video[0], container.streams.audio[0]
        assert abs(float(sound.duration * sound.time_base) - float(video.duration * video.time_base)) < 0.06


def test_cli_refuses_what_cannot_go_with_a_sound(capsys, tmp_path, speech, grace_path, driving_video):
    silent = tmp_path / "silent.mp4"
    from idvid.video import write_video

    write_video(np.zeros((4, 64, 64, 3), np.uint8), silent, fps=4)
    for extra, message in ((["--frames", "30"], "the sound sets the length: leave out --frames and --seconds"),
                           (["--drive", driving_video], "give one of --drive, --audio: each sets the motion"),
                           (["--model", "tiny"], "--audio works with nano only; tiny has no speech input")):
        code, _, err = run_cli(capsys, "generate", "--face", grace_path, "--prompt", "she talks", "--audio", speech,
                               "--out", tmp_path / "x.mp4", *extra)
        assert code == 1 and message in error_line(err) and "loading model" not in err
    code, _, err = run_cli(capsys, "generate", "--face", grace_path, "--prompt", "she talks", "--audio", silent,
                           "--out", tmp_path / "x.mp4")
    assert code == 1 and error_line(err) == f"error: {silent} holds no sound"
    blip = write_wav(silence(0.03), tmp_path / "blip.wav")
    code, _, err = run_cli(capsys, "generate", "--face", grace_path, "--prompt", "she talks", "--audio", blip,
                           "--out", tmp_path / "x.mp4")
    assert code == 1 and error_line(err).startswith("error: the sound lasts 0.03 s: 1 frames at 24 fps")
    missing = tmp_path / "nope.wav"
    code, _, err = run_cli(capsys, "generate", "--face", grace_path, "--prompt", "she talks", "--audio", missing,
                           "--out", tmp_path / "x.mp4")
    assert code == 1 and error_line(err) == f"error: {missing}: no such file"
