"""A tiny MotionDiT fits two fixed (caption, track) pairs: the training loss machinery can learn."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from idvid.engines.nano.motion_dit import MotionDiT
from idvid.engines.nano.motion_programs import sample_clip
from idvid.engines.nano.train import CaptionBank, diffusion_loss, make_schedulers, validation_loss
from idvid.models.text_encoder import get_text_encoder


def test_tiny_model_overfits_two_pairs():
    torch.manual_seed(0)
    clips = [sample_clip(1, actions=["turn_left"]), sample_clip(2, actions=["nod", "smile"])]
    values = np.stack([c.track.values for c in clips])
    mean, std = values.reshape(-1, 16).mean(0), np.maximum(values.reshape(-1, 16).std(0), 1e-3)
    tokens, mask = CaptionBank(get_text_encoder()).batch([c.caption for c in clips])
    batch = {"controls": torch.from_numpy(values), "tokens": tokens, "mask": mask,
             "reference_pose": torch.tensor([c.program["reference_pose"] for c in clips], dtype=torch.float32)}
    model = MotionDiT(num_frames=49, width=32, num_layers=2, num_heads=2, timestep_dim=16,
                      channel_mean=mean.tolist(), channel_std=std.tolist())
    scheduler = make_schedulers()[0]
    before = validation_loss(model, scheduler, batch, seed=0)
    optimizer = torch.optim.Adam(model.train().parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(0)
    repeated = {k: v.repeat(4, *[1] * (v.dim() - 1)) for k, v in batch.items()}  # 8 noise draws per step
    for _ in range(250):
        loss = diffusion_loss(model.train(), scheduler, repeated, generator, text_dropout=0.0)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    after = validation_loss(model, scheduler, batch, seed=0)
    fresh = model.normalize(batch["controls"]).square().mean().item()  # a fresh model predicts exactly 0
    assert before == pytest.approx(fresh, rel=1e-5)
    assert after < before / 10, (before, after)
