"""FantasyID's 2D face tokens: EVA-CLIP hidden states -> mapping MLP -> C-Abstractor -> FFN -> tokens.

The C-Abstractor (Honeybee, on timm's RegNet stage) pools the EVA patch grid to a few query cells
with convolutions. Parameter names and shapes follow the released checkpoint so it loads strictly.

The released forward loops over the five EVA hidden states but overwrites its result on every
iteration, so only the last hidden state and the last pair of [C-Abstractor, FFN] layers reach the
output; ``id_embedding_mapping`` and ``latents`` are trained parameters that are never used. This
port keeps every parameter (strict loading) and computes what reaches the output. One more quirk
it reproduces: each C-Abstractor adds its position embedding *in place* to the shared context
tensor, so the layer that counts sees the position embeddings of every earlier layer of its group.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn


class LayerNorm2dAct(nn.LayerNorm):
    """timm's ``LayerNormAct2d``: LayerNorm over the channels of an NCHW map, then SiLU (optional)."""

    def __init__(self, channels: int, act: bool = True) -> None:
        super().__init__(channels, eps=1e-5)
        self.act = nn.SiLU() if act else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.layer_norm(x.permute(0, 2, 3, 1), self.normalized_shape, self.weight, self.bias, self.eps)
        return self.act(x.permute(0, 3, 1, 2))


class ConvNormAct(nn.Module):
    """Bias-free convolution, channel LayerNorm, optional SiLU (timm's ``ConvNormAct``)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 1, groups: int = 1,
                 act: bool = True) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, groups=groups,
                              bias=False)
        self.bn = LayerNorm2dAct(out_channels, act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


class SqueezeExcite(nn.Module):
    def __init__(self, channels: int, reduced: int) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(channels, reduced, 1)
        self.fc2 = nn.Conv2d(reduced, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.fc2(F.silu(self.fc1(x.mean((2, 3), keepdim=True))))
        return x * scale.sigmoid()


class RegBottleneck(nn.Module):
    """timm RegNet bottleneck as the C-Abstractor builds it: ratio 1, depthwise 3x3, SE 1/4 of the
    input width, SiLU, 1x1 projection shortcut when the width changes."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv1 = ConvNormAct(in_channels, out_channels)
        self.conv2 = ConvNormAct(out_channels, out_channels, 3, groups=out_channels)
        self.se = SqueezeExcite(out_channels, round(in_channels * 0.25))
        self.conv3 = ConvNormAct(out_channels, out_channels, act=False)
        self.downsample = ConvNormAct(in_channels, out_channels, act=False) if in_channels != out_channels \
            else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv3(self.se(self.conv2(self.conv1(x))))
        return F.silu(y + self.downsample(x))


class RegStage(nn.Sequential):
    def __init__(self, depth: int, in_channels: int, out_channels: int) -> None:
        super().__init__()
        for i in range(depth):
            self.add_module(f"b{i + 1}", RegBottleneck(in_channels if i == 0 else out_channels, out_channels))


class CAbstractor(nn.Module):
    """(B, L, C) patch tokens on a square grid -> (B, Q, C_out) tokens for a sqrt(Q) x sqrt(Q) grid."""

    def __init__(self, num_input_tokens: int, width: int, hidden: int, out_width: int, num_queries: int,
                 depth: int = 3) -> None:
        super().__init__()
        side = round(num_queries ** 0.5)
        if side * side != num_queries:
            raise ValueError(f"the C-Abstractor needs a square number of queries, got {num_queries}")
        self.pos_emb = nn.Parameter(torch.zeros(1, num_input_tokens, width))
        self.net = nn.Sequential(RegStage(depth, width, hidden), nn.AdaptiveAvgPool2d(side),
                                 RegStage(depth, hidden, hidden))
        self.readout = nn.Sequential(nn.Linear(hidden, out_width), nn.SiLU(), nn.Linear(out_width, out_width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.pos_emb
        side = round(x.shape[1] ** 0.5)
        grid = self.net(rearrange(x, "b (h w) c -> b c h w", h=side, w=side))
        return self.readout(rearrange(grid, "b c h w -> b (h w) c"))


def feed_forward(dim: int, mult: int) -> nn.Sequential:
    return nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, dim * mult, bias=False), nn.GELU(),
                         nn.Linear(dim * mult, dim, bias=False))


def mapping(in_dim: int, hidden: int, out_dim: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.LayerNorm(hidden), nn.LeakyReLU(), nn.Linear(hidden, hidden),
                         nn.LayerNorm(hidden), nn.LeakyReLU(), nn.Linear(hidden, out_dim))


class FaceAbstractor(nn.Module):
    """ArcFace+EVA id vector and EVA hidden states -> (B, Q, out_dim) 2D face tokens.

    Args:
        dim: the abstractor's width (1024 released).
        vit_dim: EVA-CLIP's hidden width (1024 for EVA02-L).
        id_dim: the id vector's width (512 ArcFace + 768 EVA = 1280).
        num_vit_tokens: EVA patch tokens without the class token (576 = 24 x 24).
        cabs_hidden: the C-Abstractor's RegNet width (256).
        num_queries: face tokens Q (36).
        out_dim: token width (2048).
        depth: [C-Abstractor, FFN] pairs, an equal share per EVA hidden state (10 over 5).
    """

    NUM_VIT_FEATURES = 5

    def __init__(self, dim: int = 1024, vit_dim: int = 1024, id_dim: int = 1280, num_vit_tokens: int = 576,
                 cabs_hidden: int = 256, num_queries: int = 36, out_dim: int = 2048, depth: int = 10,
                 num_id_tokens: int = 5, num_latents: int = 144, ff_mult: int = 4) -> None:
        super().__init__()
        if depth % self.NUM_VIT_FEATURES:
            raise ValueError(f"depth must be a multiple of {self.NUM_VIT_FEATURES}, got {depth}")
        scale = dim ** -0.5
        self.per_feature = depth // self.NUM_VIT_FEATURES
        self.latents = nn.Parameter(torch.randn(1, num_latents, dim) * scale)  # trained, unused
        self.proj_out = nn.Parameter(scale * torch.randn(dim, out_dim))
        self.layers = nn.ModuleList(
            nn.ModuleList([CAbstractor(num_vit_tokens, dim, cabs_hidden, dim, num_queries), feed_forward(dim, ff_mult)])
            for _ in range(depth))
        for i in range(self.NUM_VIT_FEATURES):
            setattr(self, f"mapping_{i}", mapping(vit_dim, vit_dim, dim))
        self.id_embedding_mapping = mapping(id_dim, vit_dim, dim * num_id_tokens)  # trained, unused

    def forward(self, id_cond: torch.Tensor, vit_hidden: list[torch.Tensor]) -> torch.Tensor:
        """id_cond: (B, id_dim), unused by the released forward; vit_hidden: 5 x (B, 1 + L, vit_dim).
        Returns (B, Q, out_dim)."""
        # 1. Only the last EVA hidden state reaches the output; drop its class token.
        last = self.NUM_VIT_FEATURES - 1
        context = getattr(self, f"mapping_{last}")(vit_hidden[last])[:, 1:]
        # 2. Its group's C-Abstractors each add their position embedding to the context (in place);
        #    the last pair's output is the result.
        group = self.layers[last * self.per_feature:]
        for cabs, _ in group[:-1]:
            context = context + cabs.pos_emb
        cabs, ff = group[-1]
        tokens = ff(cabs(context))
        return tokens @ self.proj_out
