"""Test stand-in for a trained identity adapter (shared by model and pipeline tests)."""

from __future__ import annotations

import torch


@torch.no_grad()
def open_adapter(injector, gates=None, seed: int = 5) -> None:
    """What training does to a fresh IdentityInjector: nonzero output projections (zero when
    fresh), and the given gates (a number or one per layer; None keeps them)."""
    generator = torch.Generator().manual_seed(seed)
    for attn in injector.attns:
        attn.to_out.weight.copy_(torch.randn(attn.to_out.weight.shape, generator=generator) * 0.2)
    if gates is not None:
        injector.gate.copy_(torch.as_tensor(gates, dtype=injector.gate.dtype).expand_as(injector.gate))
