"""Every bad value a user can type into `idvid generate` is one error line before any model
loads; odd but valid values work; signals clean up; nothing an engine ignores goes unsaid."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_helpers import error_line, run_cli

import idvid.engines
import idvid.engines.request
import idvid.errors
from idvid.engines import GenerationOptions, plan_generation
from idvid.video import read_video

TINY = ["--model", "tiny", "--frames", "9", "--height", "32", "--width", "32", "--steps", "1"]


@pytest.fixture
def no_model_loads(monkeypatch):
    """Fails the test if generate gets as far as loading a model."""

    def refuse(*args, **kwargs):
        raise AssertionError("a model was loaded before the request was checked")

    monkeypatch.setattr(idvid.engines, "load_engine", refuse)


def _refused(capsys, tmp_path, face, *argv, out=None) -> str:
    out = out or tmp_path / "video.mp4"
    code, _, err = run_cli(capsys, "generate", "--face", face, "--prompt", "a woman nods", "--out", out, *argv)
    assert code == 1 and "Traceback" not in err
    assert not os.path.lexists(out) or out.is_symlink()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp files
    return error_line(err)


@pytest.mark.parametrize("argv, fragment", [
    (["--seed", "-1"], "seed must be from 0 to 18446744073709551615 (got -1)"),
    (["--seed", "99999999999999999999"], "seed must be from 0"),
    (["--guidance", "nan"], "guidance must be a finite number"),
    (["--guidance", "1e9"], "guidance must be from 0 to 20"),
    (["--id-guidance", "inf"], "identity guidance must be a finite number"),
    (["--fps", "100000"], "fps must be from 1 to 120"),
    (["--fps", "0.5"], "fps must be from 1 to 120"),
    (["--steps", "1001"], "steps must be from 1 to 1000"),
    (["--frames", "0"], "frames must be at least 1"),
    (["--face-index", "-1"], "face index must be at least 0"),
    (["--frames", "14401"], "frames must be between 2 and 14400"),
    (["--width", "4000"], "width must be even and between 64 and 2048"),
    (["--model", "tiny", "--frames", "100001"], "frames must be at most 253 for this model"),
    (["--model", "tiny", "--width", "100000", "--height", "100000"], "height must be at most 1024"),
    (["--model", "tiny", "--frames", "18"], "nearest valid: 17 or 21"),
    (["--model", "tiny-cogvideox", "--width", "20480", "--height", "20480"], "this video needs about"),
])
def test_bad_values_are_refused_before_any_model_loads(capsys, tmp_path, astronaut_path, no_model_loads,
                                                       argv, fragment):
    assert fragment in _refused(capsys, tmp_path, astronaut_path, *argv)


def test_an_output_that_cannot_be_written_is_refused_before_any_work(capsys, tmp_path, astronaut_path,
                                                                    no_model_loads):
    (tmp_path / "file").write_text("x")
    dangling = tmp_path / "dangling.mp4"
    dangling.symlink_to(tmp_path / "gone" / "target.mp4")
    assert "file is a file, not a folder" in _refused(capsys, tmp_path, astronaut_path,
                                                      out=tmp_path / "file" / "v.mp4")
    assert "which does not exist" in _refused(capsys, tmp_path, astronaut_path, out=dangling)
    assert "cannot write in /proc" in _refused(capsys, tmp_path, astronaut_path, out=Path("/proc/v.mp4"))


@pytest.mark.parametrize("free_gib", [2.0, 1.6])
def test_a_request_over_free_memory_says_what_fits_and_that_fits(capsys, tmp_path, astronaut_path, monkeypatch,
                                                                 no_model_loads, free_gib):
    """With 2 GiB free fewer frames fit; with 1.6 GiB not even 9 frames do, so a smaller size is
    offered. Either way the offer is itself a request that passes."""
    monkeypatch.setattr(idvid.engines.request, "available_memory", lambda device=None: int(free_gib * 2**30))
    line = _refused(capsys, tmp_path, astronaut_path, "--model", "tiny-cogvideox", "--height", "512",
                    "--width", "512", "--frames", "97")
    assert f"{free_gib:.1f} GiB free" in line, line
    if "at most" in line:
        frames, height, width = int(line.split("at most ")[1].split()[0]), 512, 512
    else:
        frames = 97
        width, height = (int(v) for v in line.split("fit at up to ")[1].split("x"))
    assert frames * height * width < 97 * 512 * 512
    plan_generation("tiny-cogvideox", GenerationOptions(num_frames=frames, height=height, width=width))


def test_fractional_fps_is_kept(capsys, tmp_path, astronaut_path):
    out = tmp_path / "v.mp4"
    code, stdout, err = run_cli(capsys, "generate", "--face", astronaut_path, "--prompt", "a woman nods",
                                "--out", out, *TINY, "--fps", "29.97")
    assert code == 0, err
    assert "29.97 fps" in stdout
    assert read_video(out).fps == pytest.approx(29.97, abs=1e-3)


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signal_while_writing_leaves_nothing(tmp_path, astronaut_path, stop):
    out = tmp_path / "long.mp4"
    command = [sys.executable, "-m", "idvid.cli", "generate", "--face", str(astronaut_path), "--prompt",
               "a woman nods", "--out", str(out), "--frames", "1000", "--height", "512", "--width", "512"]
    # As from a terminal: a background job of a non-interactive shell (CI) inherits SIGINT ignored,
    # and a suite run under nohup SIGHUP (which the CLI then rightly keeps ignored).
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: [signal.signal(s, signal.SIG_DFL) for s in (signal.SIGINT, stop)])
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".long.mp4.part-*")) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(tmp_path.glob(".long.mp4.part-*")), "the video never started encoding"
    time.sleep(0.5)  # well into the encoding
    process.send_signal(stop)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 128 + stop, err
    assert f"stopped by {stop.name}" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_faces_on_a_group_photo_lists_and_previews_every_face(capsys, tmp_path, group_photo):
    preview = tmp_path / "faces.png"
    code, out, err = run_cli(capsys, "faces", group_photo, "--preview", preview)
    assert code == 0, err
    assert "[0] box" in out and "[1] box" in out and "none chosen" in out and "--face-index 0..1" in out
    from PIL import Image

    assert Image.open(preview).size == (512, 256)
    for index in (0, 1):
        code, out, err = run_cli(capsys, "faces", group_photo, "--face-index", index)
        assert code == 0 and f"using [{index}]" in out, err
    code, _, err = run_cli(capsys, "faces", group_photo, "--face-index", 2)
    assert code == 1 and "--face-index 2 is out of range" in error_line(err)


def test_faces_on_a_thin_strip_finds_no_face(capsys, tmp_path):
    import numpy as np
    from PIL import Image

    strip = tmp_path / "strip.png"
    ramp = np.linspace(0, 255, 4000, dtype=np.float32).astype(np.uint8)
    Image.fromarray(np.broadcast_to(ramp[None, :, None], (40, 4000, 3)).copy()).save(strip)
    code, out, err = run_cli(capsys, "faces", strip)
    assert code == 1 and error_line(err) == f"error: no face found in {strip}", (out, err)


def test_eval_refuses_a_still_photo(capsys, astronaut_path):
    code, _, err = run_cli(capsys, "eval", astronaut_path, "--face", astronaut_path)
    assert code == 1 and "is not a video: it has 1 frame" in error_line(err)


def test_a_loaded_engine_does_not_count_its_own_weights_twice(monkeypatch, astronaut_path):
    """After loading, free memory already excludes the engine: only the video's share must fit."""
    from idvid.engines import load_engine

    engine = load_engine("tiny")
    engine.set_progress_bar_config(disable=True)
    options = dict(num_frames=9, height=64, width=64, num_inference_steps=1)
    plan = plan_generation("tiny", GenerationOptions(**options))
    just_enough = plan.memory_bytes - plan.resident_bytes
    monkeypatch.setattr(idvid.engines.request, "available_memory", lambda device=None: just_enough)
    assert engine(prompt="a woman nods", faces=[astronaut_path], **options).frames.shape == (9, 64, 64, 3)
    monkeypatch.setattr(idvid.engines.request, "available_memory", lambda device=None: just_enough - 2**20)
    with pytest.raises(idvid.errors.GenerationError, match="this video needs about"):
        engine(prompt="a woman nods", faces=[astronaut_path], **options)


@pytest.mark.parametrize("command", [["bench", "smoke", "--model", "tiny"], ["train", "tiny"],
                                     ["bench", "--compare", "a", "b"]])
def test_a_run_folder_that_cannot_be_made_is_refused_before_any_work(capsys, tmp_path, command):
    (tmp_path / "file").write_text("x")
    code, _, err = run_cli(capsys, *command, "--out", tmp_path / "file" / "run")
    assert code == 1 and "file is a file, not a folder" in error_line(err) and "Traceback" not in err


def test_bench_checks_suite_options_before_any_model_loads(capsys, tmp_path, astronaut_path, no_model_loads):
    suite = tmp_path / "suite.yaml"
    suite.write_text(f"name: off-grid\nfaces: [{{id: a, photos: [{astronaut_path}]}}]\n"
                     "prompts: [{id: nod, text: a woman nods}]\nseeds: [0]\noptions: {num_frames: 18}\n")
    code, _, err = run_cli(capsys, "bench", suite, "--model", "tiny", "--out", tmp_path / "run")
    assert code == 1 and "nearest valid: 17 or 21" in error_line(err)
    assert not (tmp_path / "run").exists()


def test_a_negative_prompt_without_text_guidance_is_said_to_be_ignored(capsys, caplog, tmp_path, astronaut_path):
    code, _, err = run_cli(capsys, "generate", "--face", astronaut_path, "--prompt", "a woman nods", "--out",
                           tmp_path / "v.mp4", *TINY, "--guidance", "1", "--negative-prompt", "blurry")
    assert code == 0, err
    assert "ignores --negative-prompt: at --guidance 1 there is no unconditional row" in caplog.text
