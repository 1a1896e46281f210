"""The `idvid synth` and `idvid prepare` subcommands: wiring and one-line errors."""

from __future__ import annotations

import json

import pytest

from idvid.cli import main


def test_synth_command(tmp_path, capsys):
    out = tmp_path / "ds"
    args = ["synth", str(out), "--identities", "2", "--clips-per-identity", "1", "--size", "96", "--frames", "5",
            "--seed", "1", "--heldout-fraction", "0.5"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "same identity" in printed and "different identities" in printed
    assert len((out / "index.jsonl").read_text().splitlines()) == 2
    assert json.loads((out / "report.json").read_text())["clips"] == 2
    assert main([*args[:-2], "--heldout-fraction", "0.0"]) == 1  # other options, no --overwrite
    assert "other options" in capsys.readouterr().err
    assert main(["synth", str(tmp_path / "x"), "--size", "63"]) == 1
    assert main(["synth", str(tmp_path / "y"), "--face-fraction", "0.9"]) == 1  # beyond a close-up
    assert "face_fraction" in capsys.readouterr().err


def test_prepare_command_errors(tmp_path, capsys):
    assert main(["prepare", str(tmp_path / "missing"), str(tmp_path / "out")]) == 1
    assert "no such file" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    assert main(["prepare", str(tmp_path), str(tmp_path / "out"), "--size", "31"]) == 1


@pytest.mark.parametrize("argv, fragment", [
    (["synth", "{out}", "--seed", "-5"], "seed must be from 0"),
    (["synth", "{out}", "--workers", "0"], "workers must be at least 1"),
    (["synth", "/proc/idvid-synth"], "cannot create folder /proc/idvid-synth"),
    (["synth", "{out}", "--heldout-fraction", "nan"], "heldout_fraction must be in [0, 1)"),
    (["prepare", "{src}", "{out}", "--fps", "nan"], "--fps > 0"),
    (["prepare", "{src}", "{out}", "--workers", "0"], "workers must be at least 1"),
    (["prepare", "{src}", "/proc/idvid-prepare"], "cannot create folder /proc/idvid-prepare"),
])
def test_bad_data_options_are_one_line_before_any_work(tmp_path, capsys, argv, fragment):
    src, out = tmp_path / "videos", tmp_path / "out"
    src.mkdir()
    assert main([a.format(src=src, out=out) for a in argv]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and fragment in err and "Traceback" not in err, err
    assert not out.exists()
