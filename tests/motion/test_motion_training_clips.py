"""The motion trainer on clip tracks: real rows enter the batch as they are, captionless rows get the
null text, and a few training steps run on a tiny clip store."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from cli_helpers import error_line, run_cli

from idvid.data.tracks import load_tracks, store_tracks
from idvid.engines.nano.motion import MotionGenerator
from idvid.engines.nano.motion_dit import MotionDiT
from idvid.engines.nano.train import CaptionBank, MixedSource, MotionTrainConfig, diffusion_loss, make_schedulers, train
from idvid.errors import IdvidError
from idvid.models.text_encoder import get_text_encoder

TINY_MODEL = {"width": 32, "num_layers": 1, "num_heads": 2, "timestep_dim": 16, "num_frames": 49}


@pytest.fixture(scope="module")
def tracks(synth_store, analyzer):
    """The store's 3 train-clip tracks, the last one with its caption removed."""
    found, rejected = store_tracks([synth_store], analyzer=analyzer)
    assert len(found) == 3 and not rejected and all(t.caption for t in found)
    return [*found[:2], dataclasses.replace(found[2], caption="")]


def test_real_rows_enter_the_batch_as_they_are(tracks):
    bank = CaptionBank(get_text_encoder())
    batch = MixedSource(bank, seed=0, tracks=tracks, real_fraction=0.5).batch(8, fresh=2)
    assert batch["controls"].shape == (8, 49, 16)
    by_values = {t.values.tobytes(): t for t in tracks}
    real = [by_values.get(row.numpy().tobytes()) for row in batch["controls"]]
    assert all(t is None for t in real[:4]) and all(t is not None for t in real[4:])  # real rows come last
    for row, track in enumerate(real[4:], start=4):
        np.testing.assert_array_equal(batch["reference_pose"][row].numpy(), track.reference_pose)
        assert bool(batch["null_text"][row]) == (track.caption == "")
        if track.caption:
            length = len(bank.features[track.caption])
            torch.testing.assert_close(batch["tokens"][row, :length], bank.features[track.caption].float())
    assert not batch["null_text"][:4].any()


def test_captionless_rows_are_trained_on_the_null_text(tracks):
    """With text dropout off, the loss ignores a null-text row's tokens and reads the others'."""
    source = MixedSource(CaptionBank(get_text_encoder()), seed=1, tracks=tracks, real_fraction=0.5)
    batch = source.batch(4, fresh=1)
    model = MotionDiT(**TINY_MODEL).eval()
    with torch.no_grad():  # a fresh model's zero-initialised output ignores its inputs
        for parameter in model.parameters():
            parameter.normal_(0.0, 0.2)
    scheduler = make_schedulers()[0]

    def loss(noised_rows):
        changed = dict(batch, tokens=batch["tokens"].clone())
        noise = torch.randn(changed["tokens"].shape, generator=torch.Generator().manual_seed(1))
        changed["tokens"][noised_rows] += noise[noised_rows]
        with torch.no_grad():
            return diffusion_loss(model, scheduler, changed, torch.Generator().manual_seed(0), text_dropout=0.0)

    nulls = batch["null_text"].nonzero().flatten().tolist()
    texts = (~batch["null_text"]).nonzero().flatten().tolist()
    assert nulls and texts
    base = loss([])
    assert loss(nulls) == base
    assert loss(texts) != base


def test_a_few_steps_on_a_tiny_clip_store(tmp_path, synth_store):
    config = MotionTrainConfig(stats_clips=64, batch_size=8, fresh_per_batch=2, log_every=2, real_fraction=0.25,
                               model_config=dict(TINY_MODEL))
    tracks, left_out = load_tracks([synth_store])
    summary = train(tmp_path, steps=3, seed=0, config=config, evaluate_at_end=False, tracks=tracks,
                    tracks_left_out=len(left_out), progress=False)
    assert summary["steps"] == 3 and np.isfinite(summary["loss_smooth"])
    assert (summary["real_clips"], summary["real_clips_left_out"], summary["real_rows_per_batch"]) == (3, 0, 2)
    assert len(MotionGenerator.from_pretrained(tmp_path)("a woman nods", num_inference_steps=2)) == 49


def test_clips_without_usable_tracks_and_bad_fractions_are_refused(tmp_path, capsys):
    code, _, err = run_cli(capsys, "train-motion", "--out", tmp_path / "out", "--steps", "1",
                           "--clips", tmp_path / "empty")
    assert code == 1 and error_line(err) == f"error: no usable train clip in {tmp_path / 'empty'} (0 left out)"
    with pytest.raises(IdvidError, match="real_fraction"):
        MotionTrainConfig(real_fraction=1.0)
