"""Layer-aware adaptive identity injection into a diffusers video DiT.

Every backbone block l gets its own low-rank cross-attention from the video tokens to the identity
tokens F, scaled by a learnable per-layer gate; the output projections start at zero, so a fresh
adapter leaves the backbone exactly unchanged:

    h_l <- h_l + gate[l] * to_out(attn(to_q(LN(h_l)), to_k(F), to_v(F))) * identity_weight[b]

The backbone's code is not copied: :meth:`IdentityInjector.register` adds a diffusers
:class:`~diffusers.hooks.ModelHook` named ``"idvid_identity"`` to each block's ``HookRegistry``
(``transformer_blocks`` of ``CogVideoXTransformer3DModel``, ``blocks`` of ``WanTransformer3DModel``).
Registered before a cache (``transformer.enable_cache``), the hook is the innermost one, so a
block the cache skips does not inject either: the cached residual already holds its identity.
Everything the adapter computes goes through module forwards, so model and group offloading
move its weights like any other module's.

The hooks read an :class:`Injection`: while it is empty they pass the block's output through.

Sampling::

    injection = injector.register(transformer)           # once, for the life of the pipeline
    with injection.use(face_encoder(...), identity_weight):
        for t in timesteps:
            noise_pred = transformer(latents, t, ...)   # every executed block injects identity

Training keeps the injection set from one ``forward`` to its ``backward``, so gradient
checkpointing, which re-runs the blocks in backward, injects the same identity again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.hooks import HookRegistry, ModelHook
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

from idvid.models.attention import Attention

IDENTITY_HOOK = "idvid_identity"  # the hooks' name in each block's HookRegistry
# Attributes holding the block list, in the order they are looked up.
_BLOCK_ATTRIBUTES = ("transformer_blocks", "blocks")  # CogVideoX, Wan


@dataclass
class Injection:
    """What the identity hooks add on their next calls.

    tokens: (B or 1, K, identity_dim) identity tokens; None: the hooks are idle.
    identity_weight: (B,) per-row scale (0: no identity in that row); None means 1.
    """

    tokens: torch.Tensor | None = None
    identity_weight: torch.Tensor | None = None

    @contextmanager
    def use(self, tokens: torch.Tensor, identity_weight: torch.Tensor | None = None) -> Iterator[None]:
        """Inject ``tokens`` inside the ``with`` body; what was set before comes back after."""
        if identity_weight is not None and identity_weight.ndim != 1:
            raise ValueError(f"identity_weight must be (B,), got {tuple(identity_weight.shape)}")
        previous = self.tokens, self.identity_weight
        self.tokens, self.identity_weight = tokens, identity_weight
        try:
            yield
        finally:
            self.tokens, self.identity_weight = previous


class IdentityHook(ModelHook):
    """Adds the identity to the video tokens a block returns (element 0 of CogVideoX's
    ``(hidden_states, encoder_hidden_states)``, the tensor Wan returns)."""

    def __init__(self, adapter: IdentityInjector, layer: int, injection: Injection) -> None:
        super().__init__()
        self.adapter, self.layer, self.injection = adapter, layer, injection

    def post_forward(self, module: nn.Module, output):
        tokens = self.injection.tokens
        if tokens is None:
            return output
        weight = self.injection.identity_weight
        if isinstance(output, tuple):
            return (self.adapter(output[0], tokens, self.layer, weight), *output[1:])
        return self.adapter(output, tokens, self.layer, weight)


def find_blocks(transformer: nn.Module) -> nn.ModuleList:
    """The backbone's list of transformer blocks; ValueError for an unsupported class."""
    for name in _BLOCK_ATTRIBUTES:
        blocks = getattr(transformer, name, None)
        if isinstance(blocks, nn.ModuleList):
            return blocks
    raise ValueError(
        f"cannot inject identity into {type(transformer).__name__}: it has neither `transformer_blocks` "
        "(CogVideoXTransformer3DModel) nor `blocks` (WanTransformer3DModel)"
    )


def backbone_hidden_dim(transformer: nn.Module) -> int | None:
    """num_attention_heads * attention_head_dim from the transformer's config; None if absent.

    Reads only the config, so it works on a meta-device transformer.
    """
    config = getattr(transformer, "config", None) or {}
    heads, head_dim = config.get("num_attention_heads"), config.get("attention_head_dim")
    return None if heads is None or head_dim is None else int(heads) * int(head_dim)


class IdentityInjector(ModelMixin, ConfigMixin):
    """Per-layer gated low-rank cross-attention from video tokens to identity tokens.

    Args:
        num_layers: blocks of the backbone; one injection each.
        hidden_dim: C, the backbone's inner width (1536 for Wan2.1-1.3B, 3072 for CogVideoX-5B).
        identity_dim: D of the identity tokens (the FaceKnowledgeEncoder's ``hidden_dim``).
        inner_dim: attention width; small keeps the adapter cheap.
        num_heads: attention heads H; ``inner_dim`` must be divisible by it.
    """

    @register_to_config
    def __init__(
        self,
        num_layers: int,
        hidden_dim: int,
        identity_dim: int = 512,
        inner_dim: int = 256,
        num_heads: int = 4,
    ) -> None:
        super().__init__()
        self.norms = nn.ModuleList([nn.LayerNorm(hidden_dim, eps=1e-6) for _ in range(num_layers)])
        self.attns = nn.ModuleList(
            [
                Attention(hidden_dim, num_heads, kv_dim=identity_dim, inner_dim=inner_dim, out_dim=hidden_dim)
                for _ in range(num_layers)
            ]
        )
        # Zero output projections (ControlNet's zero-init) make a fresh adapter an exact no-op and still
        # learn from the first step: their gradient is the block's error times the attention output. A
        # zero scalar gate in front of random projections instead learned nothing in 300 steps of the
        # identity ablation (gates moved < 5e-4; right and wrong references gave the same output).
        for attn in self.attns:
            nn.init.zeros_(attn.to_out.weight)
            nn.init.zeros_(attn.to_out.bias)
        self.gate = nn.Parameter(torch.ones(num_layers))

    @classmethod
    def for_transformer(cls, transformer: nn.Module, **overrides) -> IdentityInjector:
        """An injector sized for ``transformer`` (num_layers and hidden_dim from its config).

        Reads only the config and block list, so a meta-device transformer works too.
        ``overrides`` are further config values (identity_dim, inner_dim, num_heads).
        """
        blocks = find_blocks(transformer)
        hidden_dim = backbone_hidden_dim(transformer)
        if hidden_dim is None:
            raise ValueError(
                f"{type(transformer).__name__} has no num_attention_heads / attention_head_dim in its config"
            )
        config = {"num_layers": transformer.config.get("num_layers", len(blocks)), "hidden_dim": hidden_dim}
        return cls(**{**config, **overrides})

    def forward(
        self,
        hidden_states: torch.Tensor,
        identity_tokens: torch.Tensor,
        layer: int,
        identity_weight: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Inject identity into one block's video tokens.

        Args:
            hidden_states: (B, N, C) video tokens after block ``layer``.
            identity_tokens: (B or 1, K, identity_dim), the FaceKnowledgeEncoder's output; a batch
                of 1 serves every row. Keys and values are projected here, per call: K is a few
                dozen tokens against thousands of video tokens, so caching them saves nothing
                measurable, and through forwards alone offloading hooks see every weight used.
            layer: block index l.
            identity_weight: (B,) per-row scale; 0 leaves a row exactly unchanged. None means 1.

        Returns:
            (B, N, C): ``h + gate[l] * to_out(attn(to_q(LN(h)), to_k(F), to_v(F))) * identity_weight``.
        """
        # 1. Check that the block's tokens match the injector and the identity batch.
        b, _, c = hidden_states.shape
        if c != self.config.hidden_dim:
            raise ValueError(f"block {layer} gives width {c}, the injector was built for {self.config.hidden_dim}")
        if identity_tokens.ndim != 3 or identity_tokens.shape[-1] != self.config.identity_dim:
            raise ValueError(f"identity tokens must be (B, K, {self.config.identity_dim}), "
                             f"got {tuple(identity_tokens.shape)}")
        if identity_tokens.shape[0] not in (1, b):
            raise ValueError(f"identity batch {identity_tokens.shape[0]} does not match the video batch {b}")
        if identity_weight is not None and tuple(identity_weight.shape) != (b,):
            raise ValueError(f"identity_weight must be ({b},), got {tuple(identity_weight.shape)}")
        # 2. Low-rank cross-attention from the video tokens to the identity tokens.
        dtype = self.gate.dtype
        context = identity_tokens.to(dtype).expand(b, -1, -1)
        delta = self.attns[layer](self.norms[layer](hidden_states.to(dtype)), context=context)
        # 3. Gate (zero at init) and per-row identity weight, added to the residual stream.
        scale = self.gate[layer]
        if identity_weight is not None:
            scale = scale * identity_weight.to(device=delta.device, dtype=dtype)[:, None, None]
        return hidden_states + (delta * scale).to(hidden_states.dtype)

    def register(self, transformer: nn.Module) -> Injection:
        """Hook every block of ``transformer``; returns the :class:`Injection` the hooks read.

        Registering again returns the same Injection. Register before enabling a cache on the
        transformer: a hook registered later wraps the cache's and would inject into skipped blocks.
        """
        # 1. Validate the backbone against the config.
        blocks = find_blocks(transformer)
        name = type(transformer).__name__
        if len(blocks) != self.config.num_layers:
            raise ValueError(f"{name} has {len(blocks)} blocks, the injector was built for {self.config.num_layers}")
        hidden_dim = backbone_hidden_dim(transformer)
        if hidden_dim is not None and hidden_dim != self.config.hidden_dim:
            raise ValueError(f"{name} has width {hidden_dim}, the injector was built for {self.config.hidden_dim}")
        existing = identity_hook(blocks[0])
        if existing is not None:
            if existing.adapter is not self:
                raise RuntimeError(f"another identity adapter is already registered on this {name}")
            return existing.injection
        if getattr(transformer, "is_cache_enabled", False):
            raise RuntimeError(f"register identity injection before enabling a cache on this {name}: "
                               "the cache must wrap it to skip it")
        # 2. One hook per block, all reading one Injection.
        injection = Injection()
        for layer, block in enumerate(blocks):
            HookRegistry.check_if_exists_or_initialize(block).register_hook(IdentityHook(self, layer, injection),
                                                                           IDENTITY_HOOK)
        return injection

    def unregister(self, transformer: nn.Module) -> None:
        """Remove this adapter's hooks from ``transformer``'s blocks."""
        for block in find_blocks(transformer):
            hook = identity_hook(block)
            if hook is not None and hook.adapter is self:
                block._diffusers_hook.remove_hook(IDENTITY_HOOK, recurse=False)

    @contextmanager
    def attach(
        self,
        transformer: nn.Module,
        identity_tokens: torch.Tensor,
        identity_weight: torch.Tensor | None = None,
    ) -> Iterator[None]:
        """Inject identity into every forward of ``transformer`` inside the ``with`` body: the
        scoped form of :meth:`register` + :meth:`Injection.use`. Hooks this call registered are
        removed on exit, also on an exception.

        Args:
            transformer: a CogVideoXTransformer3DModel, WanTransformer3DModel, or any module with
                ``transformer_blocks`` / ``blocks`` of width ``hidden_dim``.
            identity_tokens: (B or 1, K, identity_dim); may carry autograd history (training).
            identity_weight: (B,) float per video row, e.g. 0 for guidance rows without identity.
        """
        registered_here = identity_hook(find_blocks(transformer)[0]) is None
        injection = self.register(transformer)
        try:
            with injection.use(identity_tokens, identity_weight):
                yield
        finally:
            if registered_here:
                self.unregister(transformer)


def identity_hook(block: nn.Module) -> IdentityHook | None:
    """The identity hook registered on ``block``, if any."""
    registry = getattr(block, "_diffusers_hook", None)
    return None if registry is None else registry.get_hook(IDENTITY_HOOK)
