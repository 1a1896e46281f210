"""Per-view tokenizers of the face-knowledge encoder: an aligned crop -> appearance tokens, a dense
face mesh -> geometry tokens. Both fold the views into the batch: N = B * V."""

from __future__ import annotations

import math

import torch
from einops import rearrange, repeat
from torch import nn

from idvid.models.attention import BlockStack, TransformerBlock


class PatchEncoder(nn.Module):
    """Small trainable image encoder: conv stem (/8) -> patchify to a G x G grid -> transformer.

    Args:
        crop_size: side S of the square input crop; must be divisible by ``8 * grid``.
        grid: tokens per side G; the crop gives G * G tokens.
        width: token width W inside the encoder.
        num_heads: attention heads.
        num_layers: transformer blocks.
        out_dim: width of the output tokens.
        mlp_ratio: MLP width multiplier.
    """

    def __init__(
        self, crop_size: int, grid: int, width: int, num_heads: int, num_layers: int, out_dim: int, mlp_ratio: float
    ) -> None:
        super().__init__()
        if crop_size % (8 * grid):
            raise ValueError(f"crop_size={crop_size} must be divisible by 8 * appearance_grid = {8 * grid}")
        c1, c2, c3 = max(width // 8, 4), max(width // 4, 8), max(width // 2, 16)
        self.stem = nn.Sequential(
            nn.Conv2d(3, c1, 3, stride=2, padding=1, bias=False),
            nn.GELU(),
            nn.Conv2d(c1, c2, 3, stride=2, padding=1, bias=False),
            nn.GELU(),
            nn.Conv2d(c2, c3, 3, stride=2, padding=1, bias=False),
            nn.GELU(),
        )
        patch = crop_size // (8 * grid)
        self.patchify = nn.Conv2d(c3, width, kernel_size=patch, stride=patch, bias=False)
        # Without biases and normalised, the stem's tokens are the crop's content from the first step.
        # With default biases they were mostly the biases (crop signal std ~0.01): tokens barely
        # differed between people, and training collapsed them to one output for everybody.
        self.norm_in = nn.LayerNorm(width)
        self.pos_embed = nn.Parameter(torch.randn(grid * grid, width) * 0.02)
        self.blocks = BlockStack([TransformerBlock(width, num_heads, mlp_ratio=mlp_ratio) for _ in range(num_layers)])
        self.norm_out = nn.LayerNorm(width)
        self.proj_out = nn.Linear(width, out_dim)

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        """(N, 3, S, S) in [-1, 1] -> (N, G * G, out_dim)."""
        # 1. Convolutional stem and patchify: (N, W, G, G).
        x = self.patchify(self.stem(crops))
        # 2. Grid to tokens plus learned positions.
        x = self.norm_in(rearrange(x, "n w gh gw -> n (gh gw) w")) + self.pos_embed
        # 3. Transformer, then project to the output width.
        return self.proj_out(self.norm_out(self.blocks(x)))


def normalize_mesh(vertices: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Remove translation and scale, keep rotation: centre on the mean, divide by the RMS radius.

    Args:
        vertices: (..., Nv, 3) in pixels (any unit).

    Returns:
        (..., Nv, 3) with zero mean and unit RMS distance to the centre.
    """
    centred = vertices - vertices.mean(dim=-2, keepdim=True)
    rms = centred.square().sum(dim=-1).mean(dim=-1).sqrt().clamp_min(eps)
    return centred / rms[..., None, None]


class MeshEncoder(nn.Module):
    """Vertex transformer: per-vertex Fourier(xyz) + vertex-index embedding -> transformer ->
    learned-query attention pooling into a few geometry tokens.

    Args:
        num_vertices: Nv, vertices of the face mesh (478 for MediaPipe's).
        num_freqs: Fourier frequencies F per coordinate (pi * 2^0 .. pi * 2^(F-1)).
        width: token width W inside the encoder.
        num_heads: attention heads.
        num_layers: vertex transformer blocks.
        num_tokens: Ng, pooled geometry tokens.
        out_dim: width of the output tokens.
        mlp_ratio: MLP width multiplier.
    """

    def __init__(
        self,
        num_vertices: int,
        num_freqs: int,
        width: int,
        num_heads: int,
        num_layers: int,
        num_tokens: int,
        out_dim: int,
        mlp_ratio: float,
    ) -> None:
        super().__init__()
        self.num_freqs = num_freqs
        self.point_embed = nn.Linear(3 * (1 + 2 * num_freqs), width)
        self.index_embed = nn.Parameter(torch.randn(num_vertices, width) * 0.02)
        self.blocks = BlockStack([TransformerBlock(width, num_heads, mlp_ratio=mlp_ratio) for _ in range(num_layers)])
        self.queries = nn.Parameter(torch.randn(num_tokens, width) * 0.02)
        self.pool = BlockStack(
            [TransformerBlock(width, num_heads, context_dim=width, self_attention=False, mlp_ratio=mlp_ratio)]
        )
        self.norm_out = nn.LayerNorm(width)
        self.proj_out = nn.Linear(width, out_dim)

    def fourier(self, xyz: torch.Tensor) -> torch.Tensor:
        """(N, Nv, 3) -> (N, Nv, 3 * (1 + 2F)): xyz, sin and cos of xyz at F octaves."""
        freqs = math.pi * 2.0 ** torch.arange(self.num_freqs, device=xyz.device, dtype=xyz.dtype)
        angles = rearrange(xyz[..., None] * freqs, "n v c f -> n v (c f)")
        return torch.cat([xyz, angles.sin(), angles.cos()], dim=-1)

    def forward(self, vertices: torch.Tensor) -> torch.Tensor:
        """(N, Nv, 3) in pixels -> (N, Ng, out_dim)."""
        # 1. Translation- and scale-free coordinates; pose stays.
        xyz = normalize_mesh(vertices)
        # 2. Per-vertex tokens: Fourier features plus which vertex it is.
        x = self.point_embed(self.fourier(xyz)) + self.index_embed
        # 3. Vertex transformer.
        x = self.blocks(x)
        # 4. Learned queries pool the vertices into Ng tokens.
        queries = repeat(self.queries, "g w -> n g w", n=x.shape[0])
        x = self.pool(queries, x)
        return self.proj_out(self.norm_out(x))
