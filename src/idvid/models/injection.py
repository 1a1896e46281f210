"""Layer-aware adaptive identity injection into a diffusers video DiT.

Every backbone block l gets its own low-rank cross-attention from the video tokens to the identity
tokens F, scaled by a learnable per-layer gate; the output projections start at zero, so a fresh
adapter leaves the backbone exactly unchanged:

    h_l <- h_l + gate[l] * to_out(attn(to_q(LN(h_l)), k_l, v_l)) * identity_weight[b]

The backbone's code is not copied: :meth:`IdentityInjector.attach` registers forward hooks on its
blocks (``transformer_blocks`` of ``CogVideoXTransformer3DModel``, ``blocks`` of
``WanTransformer3DModel``) and removes them on exit. Identity tokens are fixed while sampling, so
their keys and values are computed once per video by :meth:`IdentityInjector.precompute`.

Sampling::

    kv = injector.precompute(face_encoder(...))           # once per video
    with injector.attach(transformer, kv, identity_weight):
        for t in timesteps:
            noise_pred = transformer(latents, t, ...)     # hooks inject identity in every block

Training: call ``precompute`` inside the graph; gradients reach the injector and the face encoder,
also when the backbone uses (non-reentrant) gradient checkpointing: the hooks run inside each
checkpointed block and are re-run on recomputation, so call ``backward`` inside the ``with``::

    kv = injector.precompute(face_encoder(...))
    with injector.attach(transformer, kv):
        loss = flow_matching_loss(transformer(...), target)
        accelerator.backward(loss)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn
from torch.utils.hooks import RemovableHandle

from idvid.models.attention import Attention

# Attributes holding the block list, in the order they are looked up.
_BLOCK_ATTRIBUTES = ("transformer_blocks", "blocks")  # CogVideoX, Wan


@dataclass(frozen=True)
class IdentityKV:
    """Identity keys and values for every injected layer, computed once per video.

    keys, values: ``num_layers`` tensors of (B, H, K, Dh) each (K identity tokens, H heads).
    batch_size: B; a batch of 1 is broadcast to any video batch.
    """

    keys: tuple[torch.Tensor, ...]
    values: tuple[torch.Tensor, ...]
    batch_size: int

    @property
    def num_layers(self) -> int:
        return len(self.keys)

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> IdentityKV:
        """The same keys and values on another device and/or dtype."""
        keys = tuple(k.to(device=device, dtype=dtype) for k in self.keys)
        values = tuple(v.to(device=device, dtype=dtype) for v in self.values)
        return IdentityKV(keys, values, self.batch_size)


@dataclass
class Injection:
    """What registered hooks inject on their next call: set per video (sampling) or per step (training)."""

    kv: IdentityKV | None = None
    identity_weight: torch.Tensor | None = None


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

    def precompute(self, identity_tokens: torch.Tensor) -> IdentityKV:
        """Keys and values of every layer, once per video (not once per denoising step).

        Args:
            identity_tokens: (B, K, identity_dim), the FaceKnowledgeEncoder's output.

        Returns:
            IdentityKV with ``num_layers`` keys and values of (B, H, K, inner_dim // H).
        """
        if identity_tokens.ndim != 3 or identity_tokens.shape[-1] != self.config.identity_dim:
            raise ValueError(
                f"identity_tokens must be (B, K, {self.config.identity_dim}), got {tuple(identity_tokens.shape)}"
            )
        tokens = identity_tokens.to(self.gate.dtype)
        keys, values = zip(*(attn.key_value(tokens) for attn in self.attns), strict=True)
        return IdentityKV(tuple(keys), tuple(values), identity_tokens.shape[0])

    def forward(
        self,
        hidden_states: torch.Tensor,
        kv: IdentityKV,
        layer: int,
        identity_weight: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Inject identity into one block's video tokens.

        Args:
            hidden_states: (B, N, C) video tokens after block ``layer``.
            kv: from :meth:`precompute`, batch B or 1.
            layer: block index l.
            identity_weight: (B,) per-row scale; 0 leaves a row exactly unchanged. None means 1.

        Returns:
            (B, N, C): ``h + gate[l] * to_out(attn(to_q(LN(h)), k_l, v_l)) * identity_weight``.
        """
        # 1. Check that the block's tokens match the injector and the identity batch.
        b, _, c = hidden_states.shape
        if c != self.config.hidden_dim:
            raise ValueError(f"block {layer} gives width {c}, the injector was built for {self.config.hidden_dim}")
        if kv.batch_size not in (1, b):
            raise ValueError(f"identity batch {kv.batch_size} does not match the video batch {b}")
        if identity_weight is not None and tuple(identity_weight.shape) != (b,):
            raise ValueError(f"identity_weight must be ({b},), got {tuple(identity_weight.shape)}")
        # 2. Low-rank cross-attention to the precomputed identity keys and values (batch 1 broadcasts).
        dtype = self.gate.dtype
        k, v = kv.keys[layer], kv.values[layer]
        if k.shape[0] != b:
            k, v = k.expand(b, -1, -1, -1), v.expand(b, -1, -1, -1)
        delta = self.attns[layer](self.norms[layer](hidden_states.to(dtype)), key_value=(k, v))
        # 3. Gate (zero at init) and per-row identity weight, added to the residual stream.
        scale = self.gate[layer]
        if identity_weight is not None:
            scale = scale * identity_weight.to(device=delta.device, dtype=dtype)[:, None, None]
        return hidden_states + (delta * scale).to(hidden_states.dtype)

    def register(self, transformer: nn.Module, injection: Injection) -> list[RemovableHandle]:
        """Hook every block of ``transformer`` to inject what ``injection`` holds at call time.

        The hooks stay until their handles are removed. :meth:`attach` is the scoped form for
        sampling; a training wrapper keeps the hooks for the whole run and sets ``injection.kv``
        in its forward, so backward recomputation (gradient checkpointing) sees the same state.
        Blocks returning a tuple (CogVideoXBlock: ``(hidden_states, encoder_hidden_states)``) get
        the injection on element 0, the video tokens; blocks returning a tensor (Wan) on it.
        """
        # 1. Validate the backbone against the config.
        blocks = find_blocks(transformer)
        name = type(transformer).__name__
        if len(blocks) != self.config.num_layers:
            raise ValueError(f"{name} has {len(blocks)} blocks, the injector was built for {self.config.num_layers}")
        hidden_dim = backbone_hidden_dim(transformer)
        if hidden_dim is not None and hidden_dim != self.config.hidden_dim:
            raise ValueError(f"{name} has width {hidden_dim}, the injector was built for {self.config.hidden_dim}")
        if any(getattr(h, "_idvid_identity", False) for h in blocks[0]._forward_hooks.values()):
            raise RuntimeError(f"identity injection is already attached to this {name}")

        # 2. One hook per block; it replaces the block's video-token output.
        def make_hook(layer: int):
            def hook(module: nn.Module, args: tuple, output):
                if injection.kv is None:
                    raise RuntimeError("identity injection is registered but has no keys/values for this call")
                if isinstance(output, tuple):
                    return (self(output[0], injection.kv, layer, injection.identity_weight), *output[1:])
                return self(output, injection.kv, layer, injection.identity_weight)

            hook._idvid_identity = True
            return hook

        return [block.register_forward_hook(make_hook(i)) for i, block in enumerate(blocks)]

    def check_kv(self, kv: IdentityKV, identity_weight: torch.Tensor | None = None) -> None:
        """ValueError when ``kv`` or ``identity_weight`` does not fit this injector."""
        if kv.num_layers != self.config.num_layers:
            raise ValueError(f"kv holds {kv.num_layers} layers, the injector has {self.config.num_layers}")
        if identity_weight is not None and identity_weight.ndim != 1:
            raise ValueError(f"identity_weight must be (B,), got {tuple(identity_weight.shape)}")

    @contextmanager
    def attach(
        self,
        transformer: nn.Module,
        kv: IdentityKV,
        identity_weight: torch.Tensor | None = None,
    ) -> Iterator[None]:
        """Inject identity into every forward of ``transformer`` inside the ``with`` body.

        Registers the hooks of :meth:`register` and removes them on exit, also on an exception.
        Under gradient checkpointing the backward pass re-runs the blocks and so needs the hooks:
        call ``backward`` inside the ``with`` (otherwise torch raises a CheckpointError).

        Args:
            transformer: a CogVideoXTransformer3DModel, WanTransformer3DModel, or any module with
                ``transformer_blocks`` / ``blocks`` of width ``hidden_dim``.
            kv: from :meth:`precompute`; may carry autograd history (training).
            identity_weight: (B,) float per video row, e.g. 0 for guidance rows without identity.
        """
        self.check_kv(kv, identity_weight)
        handles = self.register(transformer, Injection(kv.to(dtype=self.gate.dtype), identity_weight))
        try:
            yield
        finally:
            for handle in handles:
                handle.remove()
