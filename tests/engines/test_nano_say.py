"""nano speaking a line of text (``--say``): espeak-ng's voice, then the same lip motion, length
and sound as ``--audio``."""

import wave

import av
import numpy as np
import pytest
from cli_helpers import error_line, run_cli

from idvid.engines.nano.say import MAX_CHARACTERS, spoken_line
from idvid.engines.nano.speech import RATE, read_sound, speech_motion
from idvid.errors import ConfigError
from idvid.render.controls import CONTROL_NAMES

LINE = "Hello, I am Grace. I wrote the first compiler, and it worked."


def test_a_line_becomes_the_same_speech_every_time():
    path = spoken_line(LINE)
    assert spoken_line("  Hello, I am Grace.   I wrote the first compiler, and it worked. ") == path  # spacing aside
    with wave.open(str(path)) as sound:
        seconds = sound.getnframes() / sound.getframerate()
        samples = np.frombuffer(sound.readframes(sound.getnframes()), np.int16)
    assert 2.5 < seconds < 8 and np.abs(samples).max() > 5000  # a few seconds of loud speech
    frames = samples[: len(samples) // 441 * 441].reshape(-1, 441).astype(float)  # 20 ms
    loudness = np.sqrt((frames ** 2).mean(axis=1))
    assert (loudness < 0.1 * loudness.max()).mean() > 0.05  # pauses between words: speech, not a tone
    assert spoken_line("Hello!") != path
    for text, message in (("   ", "--say needs words"), ("...!?", "--say needs words"),
                          ("a" * (MAX_CHARACTERS + 1), "at most")):
        with pytest.raises(ConfigError, match=message):
            spoken_line(text)


def test_the_person_speaks_the_line(shipped_nano, analyzer, grace_path):
    from idvid.render.mesh_controls import clip_meshes, measure_controls

    out = shipped_nano("she sits in an office", grace_path, say=LINE, fps=25)
    sound = read_sound(spoken_line(LINE))
    assert len(out.frames) == round(len(sound) / RATE * 25) and out.audio == spoken_line(LINE)
    assert out.understood["actions"][-1] == 'speaking "Hello, I am Grace. I wrote the first ..."'
    measured = measure_controls(clip_meshes(out.frames, analyzer)).values[:, CONTROL_NAMES.index("mouth_open")]
    expected = speech_motion(sound, len(out.frames), 25).mouth_open
    assert np.corrcoef(measured, expected)[0, 1] > 0.6  # the mouth read back follows the voice


def test_the_cli_says_the_line_into_the_video(capsys, tmp_path, grace_path, driving_video):
    out = tmp_path / "said.mp4"
    code, stdout, err = run_cli(capsys, "generate", "--face", grace_path, "--prompt", "she talks", "--say", LINE,
                                "--out", out)
    assert code == 0, err
    assert 'speaking "Hello, I am Grace.' in stdout
    with av.open(str(out)) as container:
        video, sound = container.streams.video[0], container.streams.audio[0]
        assert abs(float(sound.duration * sound.time_base) - float(video.duration * video.time_base)) < 0.06
    for extra, message in ((["--audio", out], "give one of --audio, --say"),
                           (["--drive", driving_video], "give one of --drive, --say"),
                           (["--model", "tiny"], "--say works with nano only; tiny has no speech input")):
        code, _, err = run_cli(capsys, "generate", "--face", grace_path, "--prompt", "she talks", "--say", LINE,
                               "--out", tmp_path / "x.mp4", *extra)
        assert code == 1 and message in error_line(err) and "loading model" not in err
