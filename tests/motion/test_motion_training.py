"""The training loop end to end on a tiny model: a loadable generator, a loss log, a summary, and
checkpoints from which a resumed run ends where an uninterrupted one does."""

from __future__ import annotations

import csv
import dataclasses
import shutil

import torch
from cli_helpers import error_line, run_cli
from safetensors.torch import load_file

from idvid.engines.nano.motion import MotionGenerator
from idvid.engines.nano.train import MotionTrainConfig, train

TINY = MotionTrainConfig(stats_clips=64, batch_size=8, fresh_per_batch=2, log_every=2,
                         model_config={"width": 32, "num_layers": 1, "num_heads": 2, "timestep_dim": 16,
                                       "num_frames": 49})


def test_train_writes_a_loadable_generator_and_a_loss_log(tmp_path):
    summary = train(tmp_path, steps=6, seed=1, config=TINY, evaluate_at_end=False, progress=False)
    assert summary["steps"] == 6 and summary["loss_smooth"] > 0 and summary["validation_loss"] > 0
    rows = list(csv.DictReader((tmp_path / "train_log.csv").open()))
    assert [int(r["step"]) for r in rows] == [2, 4, 6]
    assert set(rows[0]) == {"step", "seconds", "learning_rate", "loss", "loss_smooth"}
    generator = MotionGenerator.from_pretrained(tmp_path)
    assert generator.motion_model.config.width == 32
    assert len(generator("a woman nods", num_inference_steps=2)) == 49


def test_resume_reproduces_an_uninterrupted_run(tmp_path):
    config = dataclasses.replace(TINY, checkpoint_every=2)
    train(tmp_path / "straight", steps=4, seed=1, config=config, evaluate_at_end=False, progress=False)
    shutil.copytree(tmp_path / "straight" / "ckpt-2", tmp_path / "resumed" / "ckpt-2")  # as if stopped after it
    # ... and killed after logging step 4, before its checkpoint
    shutil.copy(tmp_path / "straight" / "train_log.csv", tmp_path / "resumed" / "train_log.csv")
    summary = train(tmp_path / "resumed", steps=4, seed=1, config=config, evaluate_at_end=False, resume=True,
                    progress=False)
    assert summary["steps"] == 4
    a, b = (load_file(str(tmp_path / run / "ckpt-4" / "model.safetensors")) for run in ("straight", "resumed"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    generators = [MotionGenerator.from_pretrained(tmp_path / run) for run in ("straight", "resumed")]
    ema = [dict(g.motion_model.state_dict()) for g in generators]
    assert all(torch.equal(ema[0][k], ema[1][k]) for k in ema[0])  # the saved EMA weights too
    start = load_file(str(tmp_path / "straight" / "ckpt-2" / "model.safetensors"))
    assert any(not torch.equal(a[k], start[k]) for k in a)  # steps 3 and 4 trained
    rows = list(csv.DictReader((tmp_path / "resumed" / "train_log.csv").open()))
    assert [int(r["step"]) for r in rows] == [2, 4]  # step 4 logged once, by the run that saved it


def test_a_fresh_run_does_not_train_over_an_earlier_one(capsys, tmp_path):
    train(tmp_path, steps=2, seed=1, config=dataclasses.replace(TINY, checkpoint_every=2), evaluate_at_end=False,
          progress=False)
    before = (tmp_path / "ckpt-2" / "model.safetensors").read_bytes()
    code, _, err = run_cli(capsys, "train-motion", "--out", tmp_path, "--steps", "4")
    assert code == 1 and error_line(err) == (f"error: {tmp_path} holds an earlier run (up to ckpt-2); "
                                             "add --resume to continue it, or choose another --out")
    assert (tmp_path / "ckpt-2" / "model.safetensors").read_bytes() == before


def test_cli_needs_a_budget(capsys, tmp_path):
    code, _, err = run_cli(capsys, "train-motion", "--out", tmp_path / "out")
    assert code == 1 and error_line(err) == "error: give a budget: --steps or --minutes"
    code, _, err = run_cli(capsys, "train-motion", "--out", tmp_path / "out", "--steps", "0")
    assert code == 1 and error_line(err).startswith("error: --steps must be >= 1")
    assert not (tmp_path / "out").exists()
