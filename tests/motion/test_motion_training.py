"""The training loop end to end on a tiny model: a loadable generator, a loss log, a summary."""

from __future__ import annotations

import csv

import pytest

from idvid.engines.nano.motion import MotionGenerator
from idvid.training.motion import TrainConfig, main, train

TINY = TrainConfig(stats_clips=64, batch_size=8, fresh_per_batch=2, log_every=2,
                   model_config={"width": 32, "num_layers": 1, "num_heads": 2, "timestep_dim": 16, "num_frames": 49})


def test_train_writes_a_loadable_generator_and_a_loss_log(tmp_path):
    summary = train(tmp_path, steps=6, seed=1, config=TINY, evaluate_at_end=False)
    assert summary["steps"] == 6 and summary["loss_smooth"] > 0 and summary["validation_loss"] > 0
    rows = list(csv.DictReader((tmp_path / "train_log.csv").open()))
    assert [int(r["step"]) for r in rows] == [2, 4, 6]
    generator = MotionGenerator.from_pretrained(tmp_path)
    assert generator.motion_model.config.width == 32
    assert len(generator("a woman nods", num_inference_steps=2)) == 49


def test_cli_needs_a_budget(tmp_path):
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path)])
