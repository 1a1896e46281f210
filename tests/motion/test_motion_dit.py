"""MotionDiT: shapes, exact zero output at init, bit-identical safetensors round trip, null-text path."""

from __future__ import annotations

import pytest
import torch

from idvid.engines.nano.motion_dit import MotionDiT

TINY = dict(in_channels=16, num_frames=12, width=32, num_layers=2, num_heads=2, text_dim=16, timestep_dim=16,
            channel_mean=[0.5] * 16, channel_std=[2.0] * 16)


def inputs(batch: int = 2, frames: int = 12, seed: int = 0) -> dict:
    gen = torch.Generator().manual_seed(seed)
    mask = torch.ones(batch, 5, dtype=torch.bool)
    mask[0, 3:] = False
    return dict(
        sample=torch.randn(batch, frames, 16, generator=gen),
        timestep=torch.tensor([10, 900][:batch]),
        encoder_hidden_states=torch.randn(batch, 5, 16, generator=gen),
        reference_pose=torch.randn(batch, 3, generator=gen) * 20,
        encoder_attention_mask=mask,
    )


def trained_like(seed: int = 0) -> MotionDiT:
    """A tiny model with every weight randomised (a fresh one outputs exactly zero)."""
    torch.manual_seed(seed)
    model = MotionDiT(**TINY).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.1)
    return model


def test_fresh_model_predicts_exactly_zero():
    model = MotionDiT(**TINY).eval()
    out = model(**inputs()).sample
    assert out.shape == (2, 12, 16)
    assert torch.equal(out, torch.zeros_like(out))


def test_shapes_and_shorter_sequences():
    model = trained_like()
    assert model(**inputs(frames=12)).sample.shape == (2, 12, 16)
    assert model(**inputs(frames=7)).sample.shape == (2, 7, 16)
    (out,) = model(**inputs(), return_dict=False)
    assert out.shape == (2, 12, 16) and out.abs().sum() > 0
    with pytest.raises(ValueError, match="exceed"):
        model(**inputs(frames=13))


def test_normalisation_uses_the_config_statistics():
    model = MotionDiT(**TINY)
    raw = torch.full((1, 3, 16), 4.5)
    assert torch.equal(model.normalize(raw), torch.full((1, 3, 16), 2.0))
    assert torch.equal(model.denormalize(model.normalize(raw)), raw)
    with pytest.raises(ValueError, match="std > 0"):
        MotionDiT(**{**TINY, "channel_std": [0.0] * 16})


def test_save_load_round_trip_is_bit_identical_and_safetensors_only(tmp_path):
    model = trained_like(1)
    model.save_pretrained(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "diffusion_pytorch_model.safetensors"]
    loaded = MotionDiT.from_pretrained(tmp_path).eval()
    assert loaded.config.channel_std == [2.0] * 16
    for (name, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), name
    x = inputs()
    assert torch.equal(model(**x).sample, loaded(**x).sample)


def test_dropped_text_rows_see_only_the_null_token():
    model = trained_like(2)
    x = inputs()
    dropped = torch.tensor([True, False])
    out = model(**x, text_dropped=dropped).sample
    # The dropped row ignores its prompt entirely ...
    other_text = dict(x, encoder_hidden_states=torch.randn(2, 5, 16))
    out_other = model(**other_text, text_dropped=dropped).sample
    assert torch.equal(out[0], out_other[0])
    assert not torch.allclose(out[1], out_other[1])
    # ... and equals the all-unconditional call (no tokens at all).
    unconditional = model(**dict(x, encoder_hidden_states=None, encoder_attention_mask=None)).sample
    torch.testing.assert_close(out[0], unconditional[0], atol=1e-6, rtol=1e-5)
    # The kept row is what it is without any dropping.
    torch.testing.assert_close(out[1], model(**x).sample[1], atol=1e-6, rtol=1e-5)


def test_reference_pose_and_timestep_condition_the_output():
    model = trained_like(3)
    x = inputs()
    base = model(**x).sample
    assert not torch.allclose(base, model(**dict(x, reference_pose=x["reference_pose"] + 10)).sample)
    assert not torch.allclose(base, model(**dict(x, timestep=torch.tensor([500, 500]))).sample)
