"""FaceKnowledgeEncoder: 2D and 3D face knowledge of a multi-view reference set -> K identity tokens.

Per reference view it makes
- identity tokens from the face-recognition embedding (an MLP),
- appearance tokens from the aligned crop (its own small patch encoder) or from the hidden
  states of an external frozen vision tower (a projection),
- geometry tokens from the dense face mesh (a small vertex transformer),
then a Perceiver-resampler fusion of K learned queries over all views' tokens gives F: (B, K, D).

The output does not depend on the order of the views: a multi-view set is a set. The per-view
"view embedding" that ties a view's tokens together is therefore computed from the view's own
geometry (so it also says from which angle the view was taken), not looked up by slot index.
"""

from __future__ import annotations

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from einops import rearrange, repeat
from torch import nn

from idvid.models.attention import BlockStack, TransformerBlock
from idvid.models.face_tokenizers import MeshEncoder, PatchEncoder

TOKEN_TYPES = ("identity", "appearance", "geometry")


class FaceKnowledgeEncoder(ModelMixin, ConfigMixin):
    """Fuses identity, appearance and geometry tokens of up to V reference views into K tokens.

    Args:
        embedding_dim: E, face-recognition embedding size (128 for SFace, 512 for ArcFace).
        hidden_dim: D, width of the fused tokens (the injector's ``identity_dim``).
        num_tokens: K, output identity tokens (learned fusion queries).
        num_heads: attention heads in the fusion transformer.
        fusion_layers: Perceiver blocks (cross-attention + self-attention + MLP).
        num_id_tokens_per_view: tokens made from each embedding.
        crop_size: S, side of the aligned face crop.
        appearance_feature_dim: Da of an external vision tower's hidden states; when set the
            encoder projects ``appearance_features`` instead of encoding ``crops`` itself.
        appearance_grid: G, the own patch encoder gives G * G tokens per crop.
        appearance_width: width of the own patch encoder.
        appearance_layers: transformer blocks of the own patch encoder.
        num_vertices: Nv, vertices of the face mesh (478 for MediaPipe's).
        geometry_width: width of the vertex transformer.
        geometry_layers: blocks of the vertex transformer.
        num_geometry_tokens: Ng, pooled geometry tokens per view.
        num_fourier_freqs: Fourier octaves of the vertex coordinates.
        encoder_heads: attention heads of the patch encoder and vertex transformer.
        mlp_ratio: MLP width multiplier everywhere.
    """

    _supports_gradient_checkpointing = True

    @register_to_config
    def __init__(
        self,
        embedding_dim: int = 128,
        hidden_dim: int = 512,
        num_tokens: int = 16,
        num_heads: int = 8,
        fusion_layers: int = 3,
        num_id_tokens_per_view: int = 4,
        crop_size: int = 224,
        appearance_feature_dim: int | None = None,
        appearance_grid: int = 7,
        appearance_width: int = 256,
        appearance_layers: int = 2,
        num_vertices: int = 478,
        geometry_width: int = 256,
        geometry_layers: int = 2,
        num_geometry_tokens: int = 8,
        num_fourier_freqs: int = 8,
        encoder_heads: int = 4,
        mlp_ratio: float = 4.0,
    ) -> None:
        super().__init__()
        # Identity: embedding -> num_id_tokens_per_view tokens.
        self.identity_mlp = nn.Sequential(
            nn.Linear(embedding_dim, hidden_dim),
            nn.GELU(),
            nn.Linear(hidden_dim, num_id_tokens_per_view * hidden_dim),
        )
        # Appearance: own patch encoder over crops, or a projection of external features.
        if appearance_feature_dim is None:
            self.patch_encoder = PatchEncoder(
                crop_size, appearance_grid, appearance_width, encoder_heads, appearance_layers, hidden_dim, mlp_ratio
            )
            self.appearance_proj = None
        else:
            self.patch_encoder = None
            self.appearance_proj = nn.Sequential(
                nn.LayerNorm(appearance_feature_dim), nn.Linear(appearance_feature_dim, hidden_dim)
            )
        # Geometry: vertex transformer.
        self.mesh_encoder = MeshEncoder(
            num_vertices,
            num_fourier_freqs,
            geometry_width,
            encoder_heads,
            geometry_layers,
            num_geometry_tokens,
            hidden_dim,
            mlp_ratio,
        )
        # Token type (identity / appearance / geometry) and view embeddings.
        self.type_embed = nn.Parameter(torch.randn(len(TOKEN_TYPES), hidden_dim) * 0.02)
        self.view_embed = nn.Sequential(nn.LayerNorm(hidden_dim), nn.Linear(hidden_dim, hidden_dim))
        # Fusion: K learned queries, Perceiver-resampler blocks, final norm.
        self.queries = nn.Parameter(torch.randn(num_tokens, hidden_dim) * 0.02)
        self.fusion = BlockStack(
            [
                TransformerBlock(hidden_dim, num_heads, context_dim=hidden_dim, mlp_ratio=mlp_ratio)
                for _ in range(fusion_layers)
            ]
        )
        self.norm_out = nn.LayerNorm(hidden_dim)

    def forward(
        self,
        embeddings: torch.Tensor,
        vertices: torch.Tensor,
        view_mask: torch.Tensor | None = None,
        crops: torch.Tensor | None = None,
        appearance_features: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Encode a batch of multi-view reference sets.

        Args:
            embeddings: (B, V, E) L2-normalised face-recognition embeddings.
            vertices: (B, V, Nv, 3) dense face meshes in pixel units.
            view_mask: (B, V) bool, True for real views; padded views contribute nothing.
                Default: all views are real. Each row needs at least one real view.
            crops: (B, V, 3, S, S) aligned face crops in [-1, 1]; when ``appearance_feature_dim`` is None.
            appearance_features: (B, V, T, Da) hidden states of an external vision tower; when
                ``appearance_feature_dim`` is set.

        Returns:
            F: (B, K, D) identity tokens.
        """
        # 1. Check the inputs and clear padded views, so whatever they hold (NaN included) cannot leak.
        appearance = self._check_inputs(embeddings, vertices, view_mask, crops, appearance_features)
        b, v = embeddings.shape[:2]
        if view_mask is None:
            view_mask = torch.ones(b, v, dtype=torch.bool, device=embeddings.device)
        dtype = self.queries.dtype
        embeddings, vertices, appearance = (
            self._zero_padded(x.to(dtype), view_mask) for x in (embeddings, vertices, appearance)
        )

        # 2. Identity tokens: (B, V, Ni, D).
        n_id = self.config.num_id_tokens_per_view
        id_tokens = rearrange(self.identity_mlp(embeddings), "b v (n d) -> b v n d", n=n_id)

        # 3. Appearance tokens: (B, V, Na, D); views fold into the batch.
        flat = rearrange(appearance, "b v ... -> (b v) ...")
        if self.patch_encoder is not None:
            app_tokens = self.patch_encoder(flat)
        else:
            app_tokens = self.appearance_proj(flat)
        app_tokens = rearrange(app_tokens, "(b v) n d -> b v n d", b=b)

        # 4. Geometry tokens: (B, V, Ng, D).
        geo_tokens = self.mesh_encoder(rearrange(vertices, "b v n c -> (b v) n c"))
        geo_tokens = rearrange(geo_tokens, "(b v) n d -> b v n d", b=b)

        # 5. Type embeddings, plus a view embedding made from the view's geometry (order-free).
        view_code = self.view_embed(geo_tokens.mean(dim=2))
        type_id, type_app, type_geo = self.type_embed
        tokens = torch.cat([id_tokens + type_id, app_tokens + type_app, geo_tokens + type_geo], dim=2)
        tokens = tokens + rearrange(view_code, "b v d -> b v 1 d")

        # 6. All views' tokens as one context; padded views are masked out of the attention.
        context = rearrange(tokens, "b v n d -> b (v n) d")
        context_mask = repeat(view_mask, "b v -> b (v n)", n=tokens.shape[2])

        # 7. Fusion: K learned queries over the context, then a final norm.
        queries = repeat(self.queries, "k d -> b k d", b=b)
        return self.norm_out(self.fusion(queries, context, context_mask))

    @staticmethod
    def _zero_padded(x: torch.Tensor, view_mask: torch.Tensor) -> torch.Tensor:
        """x: (B, V, ...) -> the same with padded views set to exactly zero."""
        keep = view_mask.reshape(*view_mask.shape, *([1] * (x.ndim - 2)))
        return x.masked_fill(~keep, 0.0)

    def _check_inputs(
        self,
        embeddings: torch.Tensor,
        vertices: torch.Tensor,
        view_mask: torch.Tensor | None,
        crops: torch.Tensor | None,
        appearance_features: torch.Tensor | None,
    ) -> torch.Tensor:
        """Raise ValueError on inputs that do not match the config; return the appearance input."""
        cfg = self.config
        if embeddings.ndim != 3 or embeddings.shape[-1] != cfg.embedding_dim:
            raise ValueError(f"embeddings must be (B, V, {cfg.embedding_dim}), got {tuple(embeddings.shape)}")
        b, v = embeddings.shape[:2]
        if tuple(vertices.shape) != (b, v, cfg.num_vertices, 3):
            raise ValueError(f"vertices must be ({b}, {v}, {cfg.num_vertices}, 3), got {tuple(vertices.shape)}")
        if view_mask is not None:
            if view_mask.dtype != torch.bool or tuple(view_mask.shape) != (b, v):
                raise ValueError(
                    f"view_mask must be a ({b}, {v}) bool tensor, got {view_mask.dtype} {tuple(view_mask.shape)}"
                )
            if not bool(view_mask.any(dim=1).all()):
                raise ValueError("view_mask: every batch row needs at least one real view")
        if (crops is None) == (appearance_features is None):
            raise ValueError("pass exactly one of crops and appearance_features")
        if cfg.appearance_feature_dim is None:
            if crops is None:
                raise ValueError(
                    "this encoder has its own patch encoder (appearance_feature_dim=None): pass crops, "
                    "not appearance_features"
                )
            s = cfg.crop_size
            if tuple(crops.shape) != (b, v, 3, s, s):
                raise ValueError(f"crops must be ({b}, {v}, 3, {s}, {s}), got {tuple(crops.shape)}")
            return crops
        if appearance_features is None:
            raise ValueError(
                f"this encoder takes vision-tower features (appearance_feature_dim={cfg.appearance_feature_dim}): "
                "pass appearance_features, not crops"
            )
        shape = tuple(appearance_features.shape)
        if len(shape) != 4 or shape[:2] != (b, v) or shape[-1] != cfg.appearance_feature_dim:
            raise ValueError(f"appearance_features must be ({b}, {v}, T, {cfg.appearance_feature_dim}), got {shape}")
        return appearance_features
