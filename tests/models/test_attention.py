"""The shared attention block: the attention it computes, key masking, block wiring."""

from __future__ import annotations

import pytest
import torch

from idvid.models.attention import Attention, TransformerBlock


@torch.no_grad()
def test_cross_attention_equals_the_explicit_softmax():
    torch.manual_seed(0)
    attn = Attention(16, 2, kv_dim=12, inner_dim=8, out_dim=20)
    x, context = torch.randn(3, 5, 16), torch.randn(3, 4, 12)
    out = attn(x, context)
    assert out.shape == (3, 5, 20)
    k, v = attn.key_value(context)
    assert k.shape == v.shape == (3, 2, 4, 4)
    q = attn.norm_q(attn.to_q(x).view(3, 5, 2, 4).transpose(1, 2))
    weights = torch.softmax(q @ k.transpose(-1, -2) / 2.0, dim=-1)  # sqrt(head dim 4) = 2
    expected = attn.to_out((weights @ v).transpose(1, 2).reshape(3, 5, 8))
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-6)


@torch.no_grad()
def test_masked_keys_get_zero_weight():
    torch.manual_seed(0)
    attn = Attention(16, 2)
    x, context = torch.randn(2, 5, 16), torch.randn(2, 6, 16)
    mask = torch.tensor([[True, True, True, False, False, False], [True] * 6])
    out = attn(x, context, mask)
    # Row 0 equals attending to its first three keys only; row 1 sees all keys.
    torch.testing.assert_close(out[0], attn(x[:1], context[:1, :3])[0], atol=1e-6, rtol=0)
    torch.testing.assert_close(out[1], attn(x[1:], context[1:])[0], atol=1e-6, rtol=0)


def test_inner_dim_must_divide_into_heads():
    with pytest.raises(ValueError, match="divisible"):
        Attention(16, 3, inner_dim=8)


def test_cross_attention_block_needs_context():
    block = TransformerBlock(16, 2, context_dim=8)
    with pytest.raises(ValueError, match="needs a context"):
        block(torch.randn(1, 3, 16))
