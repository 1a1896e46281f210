"""FantasyID's 3D face tokens: a FLAME point cloud -> vertex features -> a short token sequence.

``VertexSpiralNet``: learned queries on the coarse mesh (314 vertices of FLAME's 5023), each told its
depth by a sinusoidal code, attend jointly with the 2D face tokens (projected down to the vertex
width) in a small ViT; a spiral-convolution decoder upsamples them back to every vertex.
``VertexReducer``: strided 1D convolutions over the vertex sequence, 5023 -> 79 tokens as wide as the
2D tokens. Parameter names and shapes follow the released checkpoint.

The mesh hierarchy (spirals per level, down- and up-sampling matrices) is not a parameter: it comes
from :class:`~idvid.engines.fantasyid.mesh_sampling.MeshSampling` through :meth:`VertexSpiralNet.set_mesh`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from idvid.engines.fantasyid.mesh_sampling import MeshSampling
from idvid.engines.fantasyid.safe_pickle import Sparse


def pool(x: torch.Tensor, transform: Sparse) -> torch.Tensor:
    """(B, V_in, C) -> (B, V_out, C): every output vertex is a weighted sum of input vertices."""
    row, col, value = (torch.from_numpy(t).to(x.device) for t in (transform.row, transform.col, transform.value))
    weighted = x.index_select(1, col) * value.to(x.dtype)[:, None]
    out = x.new_zeros(x.shape[0], transform.shape[0], x.shape[2])
    return out.index_add_(1, row, weighted)


class SpiralConv(nn.Module):
    """A linear layer over each vertex's spiral of neighbours: (B, V, C) -> (B, V, C_out)."""

    def __init__(self, in_channels: int, out_channels: int, spiral_length: int) -> None:
        super().__init__()
        self.layer = nn.Linear(in_channels * spiral_length, out_channels)

    def forward(self, x: torch.Tensor, spirals) -> torch.Tensor:
        neighbours = x.index_select(1, torch.as_tensor(spirals, device=x.device).reshape(-1))
        return self.layer(neighbours.reshape(x.shape[0], spirals.shape[0], -1))


class SpiralDeblock(nn.Module):
    def __init__(self, channels: int, spiral_length: int) -> None:
        super().__init__()
        self.conv = SpiralConv(channels, channels, spiral_length)

    def forward(self, x: torch.Tensor, up: Sparse, spirals: torch.Tensor) -> torch.Tensor:
        return F.elu(self.conv(pool(x, up), spirals))


class SpiralDecoder(nn.Module):
    """Coarse-mesh features -> every vertex: (upsample, spiral conv, ELU) per level, then one spiral conv."""

    def __init__(self, channels: int, levels: int, spiral_length: int) -> None:
        super().__init__()
        self.de_layers = nn.ModuleList([SpiralDeblock(channels, spiral_length) for _ in range(levels)])
        self.de_layers.append(SpiralConv(channels, channels, spiral_length))

    def forward(self, x: torch.Tensor, mesh: MeshSampling) -> torch.Tensor:
        *deblocks, last = self.de_layers
        for level, block in zip(reversed(range(len(deblocks))), deblocks):
            x = block(x, mesh.up[level], mesh.spirals[level])
        return last(x, mesh.spirals[0])


class PreNorm(nn.Module):
    def __init__(self, dim: int, fn: nn.Module) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fn = fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(self.norm(x))


class SelfAttention(nn.Module):
    def __init__(self, dim: int, heads: int, dim_head: int) -> None:
        super().__init__()
        self.heads = heads
        self.to_qkv = nn.Linear(dim, heads * dim_head * 3, bias=False)
        self.to_out = nn.Sequential(nn.Linear(heads * dim_head, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = (rearrange(t, "b n (h d) -> b h n d", h=self.heads) for t in self.to_qkv(x).chunk(3, dim=-1))
        attention = (q @ k.transpose(-1, -2) * q.shape[-1] ** -0.5).softmax(dim=-1)
        return self.to_out(rearrange(attention @ v, "b h n d -> b n (h d)"))


class FeedForward(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        # nn.Identity stands where the released model had a zero dropout, keeping the layer indices.
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Identity(), nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class ViT(nn.Module):
    """Pre-norm transformer encoder (attention + GELU MLP, residual)."""

    def __init__(self, dim: int, depth: int, heads: int, dim_head: int, mlp_dim: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            nn.ModuleList([PreNorm(dim, SelfAttention(dim, heads, dim_head)),
                           PreNorm(dim, FeedForward(dim, mlp_dim))])
            for _ in range(depth))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for attention, mlp in self.layers:
            x = attention(x) + x
            x = mlp(x) + x
        return x


class Mlp(nn.Module):
    """timm's ``Mlp`` as used here: fc1, GELU, fc2 with the hidden width of the input."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(in_features, in_features)
        self.fc2 = nn.Linear(in_features, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class VertexSpiralNet(nn.Module):
    """(B, V, 3) vertices and (B, Q, token_dim) 2D face tokens -> (B, V, emb_dim) vertex features.

    Args:
        emb_dim: vertex feature width E (128).
        num_coarse_vertices: vertices of the coarsest mesh level used (314 for FLAME).
        token_dim: the 2D tokens' width (2048); halved down to E by ``hw_down``.
        levels: mesh levels the decoder climbs (2).
        spiral_length: vertices per spiral (9).
        depth, heads: the ViT's (6, 4); head width E / heads.
    """

    def __init__(self, emb_dim: int = 128, num_coarse_vertices: int = 314, token_dim: int = 2048, levels: int = 2,
                 spiral_length: int = 9, depth: int = 6, heads: int = 4) -> None:
        super().__init__()
        steps = round(math.log2(token_dim // emb_dim))
        if emb_dim << steps != token_dim:
            raise ValueError(f"token_dim must be emb_dim times a power of two, got {token_dim} and {emb_dim}")
        self.emb_dim, self.num_coarse_vertices = emb_dim, num_coarse_vertices
        self.vtx_query = nn.Parameter(torch.zeros(1, num_coarse_vertices, emb_dim))
        self.vtx_upsampler = SpiralDecoder(emb_dim, levels, spiral_length)
        self.transformer = ViT(emb_dim, depth, heads, emb_dim // heads, emb_dim * 2)
        self.vtx_descriptor_head = nn.Sequential(nn.Linear(emb_dim, emb_dim))
        self.hw_down = nn.ModuleList(Mlp(token_dim >> i, token_dim >> (i + 1)) for i in range(steps))
        self.mesh: MeshSampling | None = None

    def set_mesh(self, mesh: MeshSampling) -> None:
        """Attach the mesh hierarchy; its coarsest level must have ``num_coarse_vertices``."""
        coarse = mesh.down[len(self.vtx_upsampler.de_layers) - 2].shape[0]
        if coarse != self.num_coarse_vertices:
            raise ValueError(f"the mesh's coarse level has {coarse} vertices, the model expects "
                             f"{self.num_coarse_vertices}")
        self.mesh = mesh

    def depth_code(self, depth: torch.Tensor) -> torch.Tensor:
        """(B, V, 1) depth in [0, 1] -> (B, V, E): sin on even channels, cos on odd ones."""
        channel = torch.arange(self.emb_dim, dtype=torch.float32, device=depth.device)
        angle = depth * (2 * math.pi) / 10000 ** (2 * (channel // 2) / self.emb_dim)
        return torch.stack([angle[..., 0::2].sin(), angle[..., 1::2].cos()], dim=3).flatten(2)

    def forward(self, vertices: torch.Tensor, face_tokens: torch.Tensor) -> torch.Tensor:
        if self.mesh is None:
            raise RuntimeError("VertexSpiralNet has no mesh hierarchy: call set_mesh first")
        # 1. Coarse vertices tell each query its depth.
        coarse = vertices
        for down in self.mesh.down:
            coarse = pool(coarse, down)
        queries = self.vtx_query.expand(vertices.shape[0], -1, -1) + self.depth_code(0.5 * coarse[:, :, 2:] + 0.5)
        # 2. Queries and the narrowed 2D tokens attend jointly.
        for block in self.hw_down:
            face_tokens = block(face_tokens)
        tokens = self.transformer(torch.cat([queries, face_tokens], dim=1))
        # 3. The queries' features, upsampled to every vertex.
        return self.vtx_descriptor_head(self.vtx_upsampler(tokens[:, :self.num_coarse_vertices], self.mesh))


class Conv1dBlock(nn.Module):
    """Conv1d, GroupNorm(8), Mish."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int, padding: int) -> None:
        super().__init__()
        self.conv1d = nn.Conv1d(in_channels, out_channels, kernel_size, stride=stride, padding=padding)
        self.group_norm = nn.GroupNorm(8, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.mish(self.group_norm(self.conv1d(x)))


class ResidualBlock1D(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int, padding: int) -> None:
        super().__init__()
        self.conv_in = Conv1dBlock(in_channels, out_channels, kernel_size, stride, padding)
        self.conv_out = Conv1dBlock(out_channels, out_channels, 3, 1, 1)
        self.residual_conv = nn.Conv1d(in_channels, out_channels, kernel_size, stride=stride, padding=padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_out(self.conv_in(x)) + self.residual_conv(x)


class VertexReducer(nn.Module):
    """(B, E, V) vertex features -> (B, 16 E, ~V / 64) tokens: four residual strided conv blocks,
    each doubling the width (strides 4, 4, 2, 2)."""

    STAGES = ((5, 4, 2), (5, 4, 2), (3, 2, 1), (3, 2, 1))  # kernel, stride, padding

    def __init__(self, emb_dim: int = 128) -> None:
        super().__init__()
        for i, (kernel, stride, padding) in enumerate(self.STAGES):
            block = ResidualBlock1D(emb_dim << i, emb_dim << (i + 1), kernel, stride, padding)
            self.add_module(f"conv_block{i + 1}", block)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i in range(len(self.STAGES)):
            x = getattr(self, f"conv_block{i + 1}")(x)
        return x
