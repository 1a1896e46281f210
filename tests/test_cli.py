"""The `idvid` command end to end: tiny weights, real face models, real files."""

import subprocess
import sys

import numpy as np
import pytest
import torch
from cli_helpers import error_line, run_cli
from PIL import Image

from idvid.cli import main
from idvid.video import read_video

TINY = ["--model", "tiny", "--frames", "9", "--height", "32", "--width", "32", "--steps", "1"]


def _generate(capsys, face, out, *extra, prompt="a person turns left and smiles"):
    return run_cli(capsys, "generate", "--face", face, "--prompt", prompt, "--out", out, *TINY, *extra)


def test_generate_writes_an_mp4_with_the_requested_frames_and_size(capsys, tmp_path, astronaut_path):
    out = tmp_path / "video.mp4"
    code, stdout, _ = _generate(capsys, astronaut_path, out)
    assert code == 0, stdout
    clip = read_video(out)
    assert clip.frames.shape == (9, 32, 32, 3)
    assert f"wrote {out} (9 frames, 32x32" in stdout
    assert [p.name for p in tmp_path.iterdir()] == ["video.mp4"]  # no temp files left


def test_existing_output_is_kept_unless_overwrite(capsys, tmp_path, astronaut_path):
    out = tmp_path / "video.mp4"
    out.write_bytes(b"precious")
    code, _, err = _generate(capsys, astronaut_path, out)
    assert code == 1 and "exists; pass --overwrite" in err
    assert out.read_bytes() == b"precious"
    code, _, _ = _generate(capsys, astronaut_path, out, "--overwrite")
    assert code == 0 and read_video(out).frames.shape[0] == 9


def test_several_photos_of_one_person_form_a_reference_set(capsys, tmp_path, astronaut_path):
    mirrored = tmp_path / "mirrored.png"
    Image.open(astronaut_path).transpose(Image.FLIP_LEFT_RIGHT).save(mirrored)
    out = tmp_path / "video.mp4"
    code, _, err = _generate(capsys, astronaut_path, out, "--face", mirrored)
    assert code == 0, err


def _bad_inputs(tmp_path, astronaut_path, group_photo):
    """name -> (photo, expected message fragment)."""
    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((256, 256, 3), 200, np.uint8)).save(blank)
    tiny_face = tmp_path / "tiny_face.png"
    canvas = np.full((1024, 1024, 3), 128, np.uint8)
    canvas[:128, :128] = np.asarray(Image.open(astronaut_path).convert("RGB").resize((128, 128)))
    Image.fromarray(canvas).save(tiny_face)
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    text = tmp_path / "notes.png"
    text.write_text("this is not a picture")
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes(astronaut_path.read_bytes()[:5000])
    huge = tmp_path / "huge.png"
    Image.new("1", (20000, 20000)).save(huge)  # 400 MP declared, tiny file
    return {
        "no face": (blank, "no face"),
        "tiny face": (tiny_face, "at least 64 px is needed"),
        "several faces": (group_photo, "--face-index"),
        "empty file": (empty, "empty"),
        "text named png": (text, "not an image"),
        "truncated": (truncated, "cut.jpg"),
        "missing": (tmp_path / "nowhere.jpg", "nowhere.jpg"),
        "decompression bomb": (huge, "huge.png"),
    }


@pytest.mark.parametrize("case", ["no face", "tiny face", "several faces", "empty file", "text named png",
                                  "truncated", "missing", "decompression bomb"])
def test_bad_photos_give_one_line_and_no_output(capsys, tmp_path, astronaut_path, group_photo, case):
    photo, fragment = _bad_inputs(tmp_path, astronaut_path, group_photo)[case]
    out = tmp_path / "out" / "video.mp4"
    code, _, err = _generate(capsys, photo, out)
    assert code == 1
    assert error_line(err).startswith("error: ") and fragment in error_line(err), err
    assert "Traceback" not in err
    assert not out.exists()


def test_face_index_picks_a_face_in_a_group_photo(capsys, tmp_path, group_photo):
    code, _, err = _generate(capsys, group_photo, tmp_path / "v.mp4", "--face-index", "1")
    assert code == 0, err


def test_photos_of_different_people_are_refused(capsys, tmp_path, astronaut_path, grace_path):
    code, _, err = _generate(capsys, astronaut_path, tmp_path / "v.mp4", "--face", grace_path)
    assert code == 1
    assert "astronaut.jpg" in err and "grace_hopper.jpg" in err and "same person" in err


@pytest.mark.parametrize(
    "extra, fragment",
    [(["--frames", "6"], "nearest valid: 5 or 9"), (["--width", "40"], "nearest valid: 32 or 48"),
     (["--steps", "0"], "steps must be from 1 to 1000"), (["--model", "no-such-model"], "unknown model")],
)
def test_bad_options_are_one_line_errors(capsys, tmp_path, astronaut_path, extra, fragment):
    code, _, err = _generate(capsys, astronaut_path, tmp_path / "v.mp4", *extra)
    assert code == 1 and fragment in error_line(err), err


def test_empty_prompt(capsys, tmp_path, astronaut_path):
    code, _, err = _generate(capsys, astronaut_path, tmp_path / "v.mp4", prompt="  ")
    assert code == 1 and "prompt is empty" in err


def test_wrong_output_format(capsys, tmp_path, astronaut_path):
    code, _, err = _generate(capsys, astronaut_path, tmp_path / "v.avi")
    assert code == 1 and "must be a .mp4 file" in err


def test_pickle_model_directory_is_refused(capsys, tmp_path, astronaut_path):
    from idvid.engines.dit.pipeline import IDVideoPipeline

    model = tmp_path / "model"
    IDVideoPipeline.from_pretrained("tiny").save_pretrained(model)
    weights = next((model / "face_encoder").glob("*.safetensors"))
    torch.save({"w": torch.zeros(1)}, weights.with_suffix(".bin"))
    weights.unlink()
    code, _, err = _generate(capsys, astronaut_path, tmp_path / "v.mp4", "--model", model)
    assert code == 1 and "refusing pickle weights" in err


def test_debug_shows_the_traceback(tmp_path, astronaut_path):
    with pytest.raises(Exception, match="prompt is empty"):
        main(["--debug", "generate", "--face", str(astronaut_path), "--prompt", "", "--out", str(tmp_path / "v.mp4"),
              *TINY])


def test_faces_lists_faces_and_writes_a_preview(capsys, tmp_path, group_photo):
    preview = tmp_path / "preview.png"
    code, out, err = run_cli(capsys, "faces", group_photo, "--face-index", "0", "--preview", preview)
    assert code == 0, err
    assert "2 face(s)" in out and "[0] box" in out and "[1] box" in out and "using [0]" in out
    assert Image.open(preview).size == (512, 256)


def test_info_lists_presets_and_where_they_resolve(capsys):
    code, out, _ = run_cli(capsys, "info")
    assert code == 0
    assert "tiny" in out and "wan2.1-1.3b" in out and "IDVID_MODEL_WAN2_1_1_3B" in out
    assert "diffusers" in out and "device: " in out
    for name in ("wan2.1-vace-1.3b", "wan2.1-vace-14b", "consisid"):
        assert f"IDVID_MODEL_{name.upper().replace('.', '_').replace('-', '_')}" in out
    lines = out.splitlines()
    tiny_vace = lines.index(next(line for line in lines if line.lstrip().startswith("tiny-vace ")))
    from idvid.engines import GenerationOptions, engine_package

    planned = engine_package("vace").plan("tiny-vace", GenerationOptions()).memory_bytes
    memory = lines[tiny_vace + 2].strip()
    assert memory.startswith("memory at 64x64, 17 frames (computed): ") and f"{planned / 2**30:.1f} GiB" in memory


def test_info_gives_the_memory_of_each_runtime_option_where_they_differ(monkeypatch):
    from idvid.info import memory_line
    from idvid.presets import PRESETS, Preset

    # pixel-small at a size where weights and activations, not the process, dominate
    big = Preset("big", "dit", "test", family="wan", builder=PRESETS["pixel-small"].builder,
                 defaults={**PRESETS["pixel-small"].defaults, "height": 1024, "width": 1024, "num_frames": 33})
    monkeypatch.setitem(PRESETS, "big", big)
    line = memory_line("big")
    sizes = [float(part.rsplit(" ", 2)[-2]) for part in line.split(": ", 1)[1].split(", ")]
    labels = [part.rsplit(" ", 2)[0] for part in line.split(": ", 1)[1].split(", ")]
    assert labels == ["float32", "bfloat16", "bf16 + model offload", "bf16 + group offload + VAE tiling"]
    assert sizes[0] > sizes[1] >= sizes[3]


def test_console_script_help_runs():
    result = subprocess.run([sys.executable, "-m", "idvid.cli", "generate", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    assert "--face-index" in result.stdout and "--id-guidance" in result.stdout


def test_eval_scores_a_video_as_json(capsys, tmp_path, astronaut, astronaut_path):
    import json

    from idvid.video import write_video

    video = write_video(np.repeat(astronaut[None], 8, axis=0), tmp_path / "still.mp4", fps=8)
    code, out, err = run_cli(capsys, "eval", video, "--face", astronaut_path, "--metrics", "facesim,motion_amplitude",
                          "--json")
    assert code == 0, err
    values = json.loads(out)["values"]
    assert values["facesim"] > 0.9 and values["motion_amplitude"] < 1e-3


def test_eval_of_an_unreadable_video_is_one_line(capsys, tmp_path, astronaut_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00" * 100)
    code, _, err = run_cli(capsys, "eval", bad, "--face", astronaut_path)
    assert code == 1 and "bad.mp4" in error_line(err)


@pytest.mark.parametrize("device, fragment", [("foo", "unknown device 'foo'"), ("meta", "unknown device 'meta'"),
                                              ("cuda:0", "no CUDA GPU")])
def test_bad_device_is_one_line(capsys, tmp_path, astronaut_path, device, fragment):
    if device.startswith("cuda") and torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    code, _, err = _generate(capsys, astronaut_path, tmp_path / "v.mp4", "--device", device)
    assert code == 1 and fragment in error_line(err)


def test_eval_with_an_unknown_metric_is_one_line(capsys, tmp_path, astronaut, astronaut_path):
    from idvid.video import write_video

    video = write_video(np.repeat(astronaut[None], 2, axis=0), tmp_path / "v.mp4", fps=8)
    code, _, err = run_cli(capsys, "eval", video, "--face", astronaut_path, "--metrics", "nope")
    assert code == 1 and "unknown metric 'nope'" in error_line(err)
