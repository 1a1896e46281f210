"""EVA02-CLIP's vision tower, as ConsisID reads faces with it.

A port of the EVA02 ViT that ConsisID's ``face_encoder/EVA02_CLIP_L_336_psz14_s6B.pt`` holds
(EVA02-CLIP-L-14-336: 24 blocks of width 1024, 14 px patches at 336 px, 2D rotary positions
interpolated from a 16x16 grid, SwiGLU feed-forward, sub-LayerNorms, a CLS head to 768-d).
Module and parameter names are the checkpoint's, so its ``visual.*`` tensors load one to one;
``tests/engines/consisid`` proves the port against the reference code on the same weights.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

HEAD_WIDTH = 64  # every EVA02-CLIP tower's attention head width
PRETRAIN_GRID = 16  # the patch grid (224 px / 14) the rotary positions were trained on
LN_EPS = 1e-6
# The blocks whose inputs ConsisID takes as its multi-scale face features.
HIDDEN_BLOCKS = (4, 8, 12, 16, 20)
IMAGE_MEAN = (0.48145466, 0.4578275, 0.40821073)  # OpenAI CLIP's, which EVA-CLIP kept
IMAGE_STD = (0.26862954, 0.26130258, 0.27577711)


def rotate_pairs(x: torch.Tensor) -> torch.Tensor:
    """(x0, x1, x2, x3, ...) -> (-x1, x0, -x3, x2, ...): the rotation's imaginary part over adjacent pairs."""
    pairs = x.unflatten(-1, (-1, 2))
    return torch.stack((-pairs[..., 1], pairs[..., 0]), dim=-1).flatten(-2)


class RotaryPositions(nn.Module):
    """2D rotary embedding of a ``grid`` x ``grid`` patch sequence: half the head's channels turn
    with the row, half with the column, at frequencies of a PRETRAIN_GRID grid stretched to fit."""

    def __init__(self, head_dim: int, grid: int):
        super().__init__()
        axis = head_dim // 2  # channels per axis
        inverse = 1.0 / (10000 ** (torch.arange(0, axis, 2).float() / axis))
        positions = torch.arange(grid) / grid * PRETRAIN_GRID
        angles = torch.outer(positions, inverse).repeat_interleave(2, dim=-1)  # (grid, axis)
        rows = angles[:, None, :].expand(grid, grid, axis)
        cols = angles[None, :, :].expand(grid, grid, axis)
        angles = torch.cat((rows, cols), dim=-1).reshape(grid * grid, head_dim)
        # computed, not loaded (the reference drops them from checkpoints too)
        self.register_buffer("freqs_cos", angles.cos(), persistent=False)
        self.register_buffer("freqs_sin", angles.sin(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.freqs_cos + rotate_pairs(x) * self.freqs_sin


class Attention(nn.Module):
    def __init__(self, width: int, heads: int, rope: RotaryPositions):
        super().__init__()
        self.heads = heads
        self.q_proj = nn.Linear(width, width, bias=False)
        self.k_proj = nn.Linear(width, width, bias=False)
        self.v_proj = nn.Linear(width, width, bias=False)
        self.q_bias = nn.Parameter(torch.zeros(width))
        self.v_bias = nn.Parameter(torch.zeros(width))
        self.inner_attn_ln = nn.LayerNorm(width, eps=LN_EPS)
        self.proj = nn.Linear(width, width)
        self.rope = rope  # shared by all blocks; its tables are buffers, not weights

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        def heads(t: torch.Tensor) -> torch.Tensor:
            return t.unflatten(-1, (self.heads, -1)).transpose(1, 2)  # (B, heads, N, head_dim)

        q = heads(F.linear(x, self.q_proj.weight, self.q_bias))
        k = heads(self.k_proj(x))
        v = heads(F.linear(x, self.v_proj.weight, self.v_bias))
        # patches turn with their position; the CLS token (first) does not
        q = torch.cat((q[:, :, :1], self.rope(q[:, :, 1:])), dim=2).type_as(v)
        k = torch.cat((k[:, :, :1], self.rope(k[:, :, 1:])), dim=2).type_as(v)
        out = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).flatten(2)
        return self.proj(self.inner_attn_ln(out))


class SwiGLU(nn.Module):
    def __init__(self, width: int, hidden: int):
        super().__init__()
        self.w1 = nn.Linear(width, hidden)
        self.w2 = nn.Linear(width, hidden)
        self.ffn_ln = nn.LayerNorm(hidden, eps=LN_EPS)
        self.w3 = nn.Linear(hidden, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.w3(self.ffn_ln(F.silu(self.w1(x)) * self.w2(x)))


class Block(nn.Module):
    def __init__(self, width: int, heads: int, mlp_hidden: int, rope: RotaryPositions):
        super().__init__()
        self.norm1 = nn.LayerNorm(width, eps=LN_EPS)
        self.attn = Attention(width, heads, rope)
        self.norm2 = nn.LayerNorm(width, eps=LN_EPS)
        self.mlp = SwiGLU(width, mlp_hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchEmbed(nn.Module):
    def __init__(self, patch: int, width: int):
        super().__init__()
        self.proj = nn.Conv2d(3, width, kernel_size=patch, stride=patch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)


class EvaVisionTower(nn.Module):
    """Image (B, 3, S, S), normalised with IMAGE_MEAN/STD -> (embedding (B, embed_dim), the
    inputs of the HIDDEN_BLOCKS blocks, each (B, 1 + patches, width))."""

    def __init__(self, image_size: int = 336, patch: int = 14, width: int = 1024, layers: int = 24,
                 mlp_hidden: int = 2730, embed_dim: int = 768, head_width: int = HEAD_WIDTH):
        super().__init__()
        if layers <= HIDDEN_BLOCKS[-1]:
            raise ValueError(f"an EVA tower for ConsisID needs more than {HIDDEN_BLOCKS[-1]} blocks, got {layers}")
        grid = image_size // patch
        self.image_size = image_size
        self.patch_embed = PatchEmbed(patch, width)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, width))
        self.pos_embed = nn.Parameter(torch.zeros(1, grid * grid + 1, width))
        self.rope = RotaryPositions(head_width, grid)
        self.blocks = nn.ModuleList(Block(width, width // head_width, mlp_hidden, self.rope) for _ in range(layers))
        self.norm = nn.LayerNorm(width, eps=LN_EPS)
        self.head = nn.Linear(width, embed_dim)

    @classmethod
    def from_state_dict(cls, state: dict[str, torch.Tensor], head_width: int = HEAD_WIDTH) -> EvaVisionTower:
        """The tower the tensors describe (sizes read from their shapes), holding them; ValueError
        naming the tensors that are missing or left over."""
        patch = state["patch_embed.proj.weight"]
        tower = cls(
            image_size=math.isqrt(state["pos_embed"].shape[1] - 1) * patch.shape[-1], patch=patch.shape[-1],
            width=patch.shape[0], layers=len({k.split(".")[1] for k in state if k.startswith("blocks.")}),
            mlp_hidden=state["blocks.0.mlp.w1.weight"].shape[0], embed_dim=state["head.weight"].shape[0],
            head_width=head_width,
        )
        missing, unexpected = tower.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise ValueError(f"EVA-CLIP weights do not fit the tower: missing {missing[:3]}, unexpected {unexpected[:3]}")
        return tower.eval()

    def forward(self, pixels: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        x = self.patch_embed(pixels)
        x = torch.cat((self.cls_token.expand(len(x), -1, -1), x), dim=1) + self.pos_embed
        hidden = []
        for index, block in enumerate(self.blocks):
            if index in HIDDEN_BLOCKS:
                hidden.append(x)
            x = block(x)
        return self.head(self.norm(x)[:, 0]), hidden


def visual_state_dict(checkpoint: dict) -> dict[str, torch.Tensor]:
    """The vision tower's tensors of an EVA-CLIP checkpoint (``visual.`` keys, the text tower's
    dropped), in the wrappings the reference loader accepts (``model``/``module``/``state_dict``
    keys, a ``module.`` prefix); rotary tables dropped (they are computed)."""
    for key in ("model", "module", "state_dict"):
        if isinstance(checkpoint, dict) and key in checkpoint:
            checkpoint = checkpoint[key]
            break
    state = {k.removeprefix("module."): v for k, v in checkpoint.items()}
    return {k.removeprefix("visual."): v for k, v in state.items()
            if k.startswith("visual.") and "freqs_cos" not in k and "freqs_sin" not in k}


__all__ = ["HIDDEN_BLOCKS", "IMAGE_MEAN", "IMAGE_STD", "EvaVisionTower", "visual_state_dict"]
