"""The one attention block shared by the face-knowledge encoder and the identity injector.

- :class:`Attention`: multi-head attention over ``torch.nn.functional.scaled_dot_product_attention``
  with separate query / key-value / inner / output widths, per-head qk RMSNorm and a key mask.
- :class:`TransformerBlock`: pre-norm block of optional cross-attention, optional self-attention and
  an MLP (diffusers' ``FeedForward``). With both attentions it is a Perceiver-resampler block.
- :class:`BlockStack`: a list of blocks that honours diffusers' gradient checkpointing
  (``ModelMixin.enable_gradient_checkpointing`` sets ``gradient_checkpointing`` and
  ``_gradient_checkpointing_func`` on every submodule that has the flag).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers.models.attention import FeedForward
from einops import rearrange
from torch import nn


class Attention(nn.Module):
    """Multi-head (cross-)attention with qk RMSNorm.

    Args:
        query_dim: width Dq of the queries' input tokens.
        num_heads: number of heads H; ``inner_dim`` must be divisible by it.
        kv_dim: width Dc of the context tokens (default ``query_dim``).
        inner_dim: attention width H * Dh (default ``query_dim``); a low value makes it low-rank.
        out_dim: width of the output (default ``query_dim``).
        qk_norm: RMSNorm over each head's queries and keys.
    """

    def __init__(
        self,
        query_dim: int,
        num_heads: int,
        kv_dim: int | None = None,
        inner_dim: int | None = None,
        out_dim: int | None = None,
        qk_norm: bool = True,
    ) -> None:
        super().__init__()
        kv_dim = kv_dim or query_dim
        inner_dim = inner_dim or query_dim
        out_dim = out_dim or query_dim
        if inner_dim % num_heads:
            raise ValueError(f"inner_dim={inner_dim} is not divisible by num_heads={num_heads}")
        self.num_heads = num_heads
        head_dim = inner_dim // num_heads
        self.to_q = nn.Linear(query_dim, inner_dim)
        self.to_k = nn.Linear(kv_dim, inner_dim)
        self.to_v = nn.Linear(kv_dim, inner_dim)
        self.norm_q = nn.RMSNorm(head_dim, eps=1e-6) if qk_norm else nn.Identity()
        self.norm_k = nn.RMSNorm(head_dim, eps=1e-6) if qk_norm else nn.Identity()
        self.to_out = nn.Linear(inner_dim, out_dim)

    def key_value(self, context: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Project context tokens to keys and values.

        Args:
            context: (B, Nk, Dc).

        Returns:
            keys, values: (B, H, Nk, Dh) each; keys already RMS-normalised.
        """
        k = rearrange(self.to_k(context), "b n (h d) -> b h n d", h=self.num_heads)
        v = rearrange(self.to_v(context), "b n (h d) -> b h n d", h=self.num_heads)
        return self.norm_k(k), v

    def forward(
        self,
        x: torch.Tensor,
        context: torch.Tensor | None = None,
        context_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Attend from ``x`` to ``context`` (``x`` itself when no context is given).

        Args:
            x: (B, Nq, Dq) query tokens.
            context: (B, Nk, Dc) context tokens.
            context_mask: (B, Nk) bool, True for keys that may be attended to. Every row needs at
                least one True, otherwise its output is NaN.

        Returns:
            (B, Nq, out_dim).
        """
        # 1. Keys and values: from the context, or from x (self-attention).
        k, v = self.key_value(x if context is None else context)
        # 2. Queries.
        q = self.norm_q(rearrange(self.to_q(x), "b n (h d) -> b h n d", h=self.num_heads))
        # 3. Attention, masked keys get exactly zero weight.
        mask = None if context_mask is None else rearrange(context_mask, "b n -> b 1 1 n")
        out = F.scaled_dot_product_attention(q, k.to(q.dtype), v.to(q.dtype), attn_mask=mask)
        # 4. Merge heads and project out.
        return self.to_out(rearrange(out, "b h n d -> b n (h d)"))


class TransformerBlock(nn.Module):
    """Pre-norm block: [cross-attention to a context] + [self-attention] + MLP, each residual.

    Args:
        dim: token width D.
        num_heads: attention heads.
        context_dim: width of the context tokens; None means no cross-attention.
        self_attention: include a self-attention sub-layer.
        mlp_ratio: MLP hidden width is ``mlp_ratio * dim``.
    """

    def __init__(
        self,
        dim: int,
        num_heads: int,
        context_dim: int | None = None,
        self_attention: bool = True,
        mlp_ratio: float = 4.0,
    ) -> None:
        super().__init__()
        self.cross_attn = self.norm_cross = self.norm_context = None
        if context_dim is not None:
            self.norm_cross = nn.LayerNorm(dim)
            self.norm_context = nn.LayerNorm(context_dim)
            self.cross_attn = Attention(dim, num_heads, kv_dim=context_dim)
        self.self_attn = self.norm_self = None
        if self_attention:
            self.norm_self = nn.LayerNorm(dim)
            self.self_attn = Attention(dim, num_heads)
        self.norm_mlp = nn.LayerNorm(dim)
        self.mlp = FeedForward(dim, inner_dim=int(dim * mlp_ratio), activation_fn="gelu")

    def forward(
        self,
        x: torch.Tensor,
        context: torch.Tensor | None = None,
        context_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """
        Args:
            x: (B, N, D).
            context: (B, Nk, Dc); required when the block has cross-attention.
            context_mask: (B, Nk) bool, True for real context tokens.

        Returns:
            (B, N, D).
        """
        # 1. Cross-attention from x to the (normalised) context.
        if self.cross_attn is not None:
            if context is None:
                raise ValueError("this block has cross-attention and needs a context")
            x = x + self.cross_attn(self.norm_cross(x), self.norm_context(context), context_mask)
        # 2. Self-attention.
        if self.self_attn is not None:
            x = x + self.self_attn(self.norm_self(x))
        # 3. MLP.
        return x + self.mlp(self.norm_mlp(x))


class BlockStack(nn.ModuleList):
    """Runs :class:`TransformerBlock` s in order, each under gradient checkpointing when enabled.

    The owning ``ModelMixin`` turns it on with ``enable_gradient_checkpointing()``, which sets
    ``gradient_checkpointing`` and ``_gradient_checkpointing_func`` here.
    """

    def __init__(self, blocks: list[TransformerBlock]) -> None:
        super().__init__(blocks)
        self.gradient_checkpointing = False
        self._gradient_checkpointing_func = None

    def forward(
        self,
        x: torch.Tensor,
        context: torch.Tensor | None = None,
        context_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """(B, N, D) -> (B, N, D); context (B, Nk, Dc) and context_mask (B, Nk) as in the blocks."""
        for block in self:
            if torch.is_grad_enabled() and self.gradient_checkpointing:
                x = self._gradient_checkpointing_func(block, x, context, context_mask)
            else:
                x = block(x, context, context_mask)
        return x
