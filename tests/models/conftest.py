"""Tiny random diffusers backbones and face-knowledge inputs for the models tests.

Everything is offered as fixtures (never imported by the test modules), so several test folders
can each have a conftest.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
import torch
from diffusers import CogVideoXTransformer3DModel, WanTransformer3DModel

TINY_COGVIDEOX = dict(
    num_attention_heads=2,
    attention_head_dim=8,
    in_channels=4,
    out_channels=4,
    time_embed_dim=16,
    text_embed_dim=16,
    num_layers=2,
    sample_width=8,
    sample_height=8,
    sample_frames=5,
    max_text_seq_length=8,
    use_rotary_positional_embeddings=False,
)
TINY_WAN = dict(
    patch_size=(1, 2, 2),
    num_attention_heads=2,
    attention_head_dim=8,
    in_channels=4,
    out_channels=4,
    text_dim=16,
    freq_dim=16,
    ffn_dim=32,
    num_layers=2,
    rope_max_seq_len=32,
)
TINY_ENCODER = dict(
    embedding_dim=8,
    hidden_dim=32,
    num_tokens=4,
    num_heads=2,
    fusion_layers=1,
    num_id_tokens_per_view=2,
    crop_size=16,
    appearance_grid=2,
    appearance_width=16,
    appearance_layers=1,
    geometry_width=16,
    geometry_layers=1,
    num_geometry_tokens=2,
    num_fourier_freqs=2,
    encoder_heads=2,
)
BATCH = 2


@dataclass
class Backbone:
    """A tiny backbone and a call on fixed inputs (batch BATCH) that returns its output sample."""

    model: torch.nn.Module
    run: Callable[[], torch.Tensor]


def make_backbone(kind: str, seed: int = 0) -> Backbone:
    gen = torch.Generator().manual_seed(seed)
    text = torch.randn(BATCH, 8, 16, generator=gen)
    timestep = torch.tensor([10, 700])
    torch.manual_seed(seed)
    if kind == "cogvideox":
        model = CogVideoXTransformer3DModel(**TINY_COGVIDEOX).eval()
        latents = torch.randn(BATCH, 2, 4, 8, 8, generator=gen)  # (B, F, C, H, W)
        return Backbone(model, lambda: model(latents, text, timestep).sample)
    model = WanTransformer3DModel(**TINY_WAN).eval()
    latents = torch.randn(BATCH, 4, 2, 8, 8, generator=gen)  # (B, C, F, H, W)
    return Backbone(model, lambda: model(latents, timestep, text).sample)


@pytest.fixture(params=["cogvideox", "wan"])
def backbone(request) -> Backbone:
    """Each tiny backbone in turn."""
    return make_backbone(request.param)


@pytest.fixture
def backbone_factory() -> Callable[..., Backbone]:
    """make_backbone(kind, seed) for tests that need a second copy."""
    return make_backbone


@pytest.fixture
def tiny_backbone_configs() -> dict[str, dict]:
    """Tiny configs by diffusers class name."""
    return {"CogVideoXTransformer3DModel": dict(TINY_COGVIDEOX), "WanTransformer3DModel": dict(TINY_WAN)}


@pytest.fixture
def tiny_encoder_config() -> dict:
    """FaceKnowledgeEncoder config with dims <= 32 (embedding 8, crops 16 px, 478 vertices)."""
    return dict(TINY_ENCODER)


@pytest.fixture
def face_inputs_factory() -> Callable[..., dict]:
    """face_inputs(batch, views, seed, ...) -> forward kwargs for the tiny encoder."""
    return face_inputs


def face_inputs(batch: int = BATCH, views: int = 3, seed: int = 0, embedding_dim: int = 8, crop_size: int = 16):
    """Random multi-view face inputs: embeddings, a face-like mesh in pixels, crops, view mask."""
    gen = torch.Generator().manual_seed(seed)
    embeddings = torch.nn.functional.normalize(torch.randn(batch, views, embedding_dim, generator=gen), dim=-1)
    vertices = torch.randn(batch, views, 478, 3, generator=gen) * 40.0 + torch.tensor([320.0, 240.0, 0.0])
    crops = torch.rand(batch, views, 3, crop_size, crop_size, generator=gen) * 2 - 1
    view_mask = torch.ones(batch, views, dtype=torch.bool)
    return dict(embeddings=embeddings, vertices=vertices, crops=crops, view_mask=view_mask)
