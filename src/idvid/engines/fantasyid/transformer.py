"""FantasyID's transformer: CogVideoX-5B image-to-video blocks plus its face modules.

Face tokens (computed once per video): 2D tokens from the :class:`FaceAbstractor` over EVA-CLIP's
hidden states, 3D tokens from the FLAME point cloud through the :class:`VertexSpiralNet` and
:class:`VertexReducer`, concatenated (36 + 79 tokens of 2048 in the release). After every
``cross_attn_interval``-th block a :class:`LayerAttention` from the video tokens to the face tokens
is added to the hidden states.

The blocks are diffusers' (this class *is* a ``CogVideoXTransformer3DModel``, so caches, offloading
and attention backends apply); the face attention is a diffusers hook on each chosen block
(:class:`~idvid.models.injection.IdentityHook`), registered before any cache so a skipped block
skips its face attention too. Parameter names and config keys are the released checkpoint's.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
import torch.nn.functional as F
from diffusers import CogVideoXTransformer3DModel
from diffusers.configuration_utils import register_to_config
from diffusers.hooks import HookRegistry
from einops import rearrange
from torch import nn

from idvid.engines.fantasyid.face_abstractor import FaceAbstractor
from idvid.engines.fantasyid.mesh_sampling import MeshSampling
from idvid.engines.fantasyid.vertex_net import VertexReducer, VertexSpiralNet
from idvid.models.injection import IDENTITY_HOOK, IdentityHook, Injection


class LayerAttention(nn.Module):
    """Cross-attention from (B, N, dim) video tokens to (1 or B, K, kv_dim) face tokens, bias-free,
    both sides layer-normed; returns the (B, N, dim) update."""

    def __init__(self, dim: int, kv_dim: int, heads: int = 16, dim_head: int = 128) -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(kv_dim)
        self.norm2 = nn.LayerNorm(dim)
        self.to_q = nn.Linear(dim, heads * dim_head, bias=False)
        self.to_kv = nn.Linear(kv_dim, heads * dim_head * 2, bias=False)
        self.to_out = nn.Linear(heads * dim_head, dim, bias=False)

    def forward(self, face_tokens: torch.Tensor, hidden_states: torch.Tensor) -> torch.Tensor:
        b = hidden_states.shape[0]
        q = rearrange(self.to_q(self.norm2(hidden_states)), "b n (h d) -> b h n d", h=self.heads)
        k, v = (rearrange(t, "b n (h d) -> b h n d", h=self.heads).expand(b, -1, -1, -1)
                for t in self.to_kv(self.norm1(face_tokens)).chunk(2, dim=-1))
        return self.to_out(rearrange(F.scaled_dot_product_attention(q, k, v), "b h n d -> b n (h d)"))


class FaceLayerAttention(nn.ModuleList):
    """The per-block face attentions, called by the identity hook of block ``layer``."""

    def __init__(self, attentions, interval: int) -> None:
        super().__init__(attentions)
        self.interval = interval

    def forward(self, hidden_states: torch.Tensor, face_tokens: torch.Tensor, layer: int,
                identity_weight: torch.Tensor | None = None) -> torch.Tensor:
        attention = self[layer // self.interval]
        dtype = attention.to_q.weight.dtype  # float32 while training under a half-precision backbone
        update = attention(face_tokens.to(dtype), hidden_states.to(dtype))
        if identity_weight is not None:
            update = update * identity_weight.to(update)[:, None, None]
        return hidden_states + update.to(hidden_states.dtype)


class FantasyIDTransformer3DModel(CogVideoXTransformer3DModel):
    """``CogVideoXTransformer3DModel`` with FantasyID's face modules (config keys as released; the
    widths the release fixes in code are config keys here only so tiny test models can shrink them).

    Call with ``id_cond`` (B, 1280), ``id_vit_hidden`` (5 x (B, 577, 1024)) and ``face_vertices``
    (B, 5023, 3) to compute the face tokens in that call, or inside :meth:`face_context` to reuse
    tokens across the steps of a video.
    """

    @register_to_config
    def __init__(
        self,
        num_attention_heads: int = 30,
        attention_head_dim: int = 64,
        in_channels: int = 16,
        out_channels: int | None = 16,
        flip_sin_to_cos: bool = True,
        freq_shift: int = 0,
        time_embed_dim: int = 512,
        ofs_embed_dim: int | None = None,
        text_embed_dim: int = 4096,
        num_layers: int = 30,
        dropout: float = 0.0,
        attention_bias: bool = True,
        sample_width: int = 90,
        sample_height: int = 60,
        sample_frames: int = 49,
        patch_size: int = 2,
        patch_size_t: int | None = None,
        temporal_compression_ratio: int = 4,
        max_text_seq_length: int = 226,
        activation_fn: str = "gelu-approximate",
        timestep_activation_fn: str = "silu",
        norm_elementwise_affine: bool = True,
        norm_eps: float = 1e-5,
        spatial_interpolation_scale: float = 1.875,
        temporal_interpolation_scale: float = 1.0,
        use_rotary_positional_embeddings: bool = False,
        use_learned_positional_embeddings: bool = False,
        patch_bias: bool = True,
        # FantasyID's keys (the LFE_* and local_face_scale are in the released config, unused by it)
        is_train_face: bool = True,
        is_kps: bool = False,
        cross_attn_interval: int = 2,
        LFE_num_tokens: int = 32,
        LFE_output_dim: int = 768,
        LFE_heads: int = 12,
        local_face_scale: float = 1.0,
        # widths the released code fixes
        face_dim: int = 1024,
        eva_dim: int = 1024,
        id_dim: int = 1280,
        eva_tokens: int = 576,
        cabs_hidden: int = 256,
        face_queries: int = 36,
        face_latents: int = 144,
        vertex_dim: int = 128,
        coarse_vertices: int = 314,
        face_attention_heads: int = 16,
        face_attention_head_dim: int = 128,
    ):
        super().__init__(
            num_attention_heads=num_attention_heads, attention_head_dim=attention_head_dim,
            in_channels=in_channels, out_channels=out_channels, flip_sin_to_cos=flip_sin_to_cos,
            freq_shift=freq_shift, time_embed_dim=time_embed_dim, ofs_embed_dim=ofs_embed_dim,
            text_embed_dim=text_embed_dim, num_layers=num_layers, dropout=dropout, attention_bias=attention_bias,
            sample_width=sample_width, sample_height=sample_height, sample_frames=sample_frames,
            patch_size=patch_size, patch_size_t=patch_size_t, temporal_compression_ratio=temporal_compression_ratio,
            max_text_seq_length=max_text_seq_length, activation_fn=activation_fn,
            timestep_activation_fn=timestep_activation_fn, norm_elementwise_affine=norm_elementwise_affine,
            norm_eps=norm_eps, spatial_interpolation_scale=spatial_interpolation_scale,
            temporal_interpolation_scale=temporal_interpolation_scale,
            use_rotary_positional_embeddings=use_rotary_positional_embeddings,
            use_learned_positional_embeddings=use_learned_positional_embeddings, patch_bias=patch_bias,
        )
        self.injection = Injection()
        if not is_train_face:
            return
        inner_dim = num_attention_heads * attention_head_dim
        token_dim = inner_dim * 2 // 3  # the released rule: 2048 for CogVideoX-5B's 3072
        if num_layers % cross_attn_interval:
            raise ValueError(f"num_layers ({num_layers}) must be a multiple of cross_attn_interval "
                             f"({cross_attn_interval})")
        self.face_abstractor = FaceAbstractor(face_dim, eva_dim, id_dim, eva_tokens, cabs_hidden, face_queries,
                                              token_dim, num_latents=face_latents)
        self.vertex_spiral_net = VertexSpiralNet(vertex_dim, coarse_vertices, token_dim)
        self.vertex_reducer = VertexReducer(vertex_dim)
        self.layer_attention = FaceLayerAttention(
            [LayerAttention(inner_dim, token_dim, face_attention_heads, face_attention_head_dim)
             for _ in range(num_layers // cross_attn_interval)], cross_attn_interval)
        for layer in range(0, num_layers, cross_attn_interval):
            HookRegistry.check_if_exists_or_initialize(self.transformer_blocks[layer]).register_hook(
                IdentityHook(self.layer_attention, layer, self.injection), IDENTITY_HOOK)

    def set_mesh(self, mesh: MeshSampling) -> None:
        """Attach the FLAME mesh hierarchy the vertex network runs on."""
        self.vertex_spiral_net.set_mesh(mesh)

    def face_tokens(self, id_cond: torch.Tensor, id_vit_hidden: list[torch.Tensor],
                    face_vertices: torch.Tensor) -> torch.Tensor:
        """(B, Q + V', token_dim): the 2D tokens, then the 3D tokens of the point cloud."""
        dtype = self.face_abstractor.proj_out.dtype  # each module runs in its own precision
        tokens_2d = self.face_abstractor(id_cond.to(dtype), [h.to(dtype) for h in id_vit_hidden])
        # The vertex network runs in float32 whatever the model's precision, as released.
        self.vertex_spiral_net.float()
        per_vertex = self.vertex_spiral_net(face_vertices.float(), tokens_2d.float())
        reducer_dtype = self.vertex_reducer.conv_block1.residual_conv.weight.dtype
        tokens_3d = self.vertex_reducer(rearrange(per_vertex.to(reducer_dtype), "b v c -> b c v"))
        return torch.cat([tokens_2d, rearrange(tokens_3d, "b c n -> b n c").to(dtype)], dim=1)

    @contextmanager
    def face_context(self, face_tokens: torch.Tensor):
        """Every forward inside the ``with`` body attends to ``face_tokens``."""
        with self.injection.use(face_tokens):
            yield

    def forward(self, hidden_states: torch.Tensor, encoder_hidden_states: torch.Tensor, timestep, *args,
                id_cond: torch.Tensor | None = None, id_vit_hidden: list[torch.Tensor] | None = None,
                face_vertices: torch.Tensor | None = None, **kwargs):
        """CogVideoX's forward; with ``id_vit_hidden`` and ``face_vertices`` the face tokens are
        computed for this call, else those of the enclosing :meth:`face_context` (if any) apply."""
        if id_vit_hidden is None or face_vertices is None:
            return super().forward(hidden_states, encoder_hidden_states, timestep, *args, **kwargs)
        with self.face_context(self.face_tokens(id_cond, id_vit_hidden, face_vertices)):
            return super().forward(hidden_states, encoder_hidden_states, timestep, *args, **kwargs)
