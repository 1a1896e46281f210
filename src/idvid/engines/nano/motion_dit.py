"""MotionDiT: a small diffusion transformer over per-frame render-control sequences.

Each frame's controls (:data:`idvid.render.controls.CONTROL_NAMES`, normalised per channel with
the statistics stored in the config) is one token. Frames attend to each other (self-attention)
and to the prompt's MiniLM token features (cross-attention). The diffusion timestep, the pooled
text and the reference photo's head pose modulate every block through adaLN-zero, as in DiT.
The modulations and the output projection start at zero, so a fresh model predicts exactly 0.

Classifier-free guidance: rows with ``text_dropped`` see one learned null token instead of the
prompt, in cross-attention and in the pooled text.
"""

from __future__ import annotations

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.attention import FeedForward
from diffusers.models.embeddings import TimestepEmbedding, Timesteps, get_1d_sincos_pos_embed_from_grid
from diffusers.models.modeling_outputs import Transformer2DModelOutput
from diffusers.models.modeling_utils import ModelMixin
from einops import rearrange
from torch import nn

from idvid.models.attention import Attention


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """x: (B, T, D); shift, scale: (B, D) -> (B, T, D)."""
    return x * (1 + rearrange(scale, "b d -> b 1 d")) + rearrange(shift, "b d -> b 1 d")


class MotionBlock(nn.Module):
    """adaLN-zero self-attention, plain pre-norm cross-attention to the text, adaLN-zero MLP.

    Args:
        dim: token width D.
        num_heads: attention heads.
        text_dim: width of the text tokens.
        mlp_ratio: MLP hidden width is ``mlp_ratio * dim``.
    """

    def __init__(self, dim: int, num_heads: int, text_dim: int, mlp_ratio: float) -> None:
        super().__init__()
        self.norm_self = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.self_attn = Attention(dim, num_heads)
        self.norm_cross = nn.LayerNorm(dim)
        self.cross_attn = Attention(dim, num_heads, kv_dim=text_dim)
        self.norm_mlp = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.mlp = FeedForward(dim, inner_dim=int(dim * mlp_ratio), activation_fn="gelu-approximate")
        self.modulation = nn.Sequential(nn.SiLU(), nn.Linear(dim, 6 * dim))
        nn.init.zeros_(self.modulation[1].weight)
        nn.init.zeros_(self.modulation[1].bias)

    def forward(self, x: torch.Tensor, cond: torch.Tensor, text: torch.Tensor, text_mask: torch.Tensor) -> torch.Tensor:
        """
        Args:
            x: (B, T, D) frame tokens.
            cond: (B, D) timestep + pooled text + reference pose.
            text: (B, L, Dt) layer-normalised text tokens.
            text_mask: (B, L) bool, True for real tokens (at least one per row).

        Returns:
            (B, T, D).
        """
        # 1. Six modulations from the conditioning vector.
        shift_sa, scale_sa, gate_sa, shift_mlp, scale_mlp, gate_mlp = self.modulation(cond).chunk(6, dim=-1)
        # 2. Gated self-attention over frames.
        h = self.self_attn(modulate(self.norm_self(x), shift_sa, scale_sa))
        x = x + rearrange(gate_sa, "b d -> b 1 d") * h
        # 3. Cross-attention to the text tokens.
        x = x + self.cross_attn(self.norm_cross(x), text, text_mask)
        # 4. Gated MLP.
        h = self.mlp(modulate(self.norm_mlp(x), shift_mlp, scale_mlp))
        return x + rearrange(gate_mlp, "b d -> b 1 d") * h


class MotionDiT(ModelMixin, ConfigMixin):
    """Denoiser of normalised control sequences, conditioned on text and the reference head pose.

    Args:
        in_channels: C, controls per frame (16, CONTROL_NAMES).
        num_frames: T_max, the longest sequence (length of the positional table).
        width: token width D.
        num_layers: transformer blocks.
        num_heads: attention heads.
        mlp_ratio: MLP width multiplier.
        text_dim: width of the text tokens (384 for MiniLM).
        timestep_dim: sinusoidal timestep features before their MLP.
        pose_scale: degrees that map to 1 in the reference-pose input.
        channel_mean, channel_std: per-control statistics; :meth:`normalize` maps raw controls
            to ``(x - mean) / std``, the space the model denoises in.
    """

    @register_to_config
    def __init__(
        self,
        in_channels: int = 16,
        num_frames: int = 49,
        width: int = 128,
        num_layers: int = 4,
        num_heads: int = 4,
        mlp_ratio: float = 4.0,
        text_dim: int = 384,
        timestep_dim: int = 128,
        pose_scale: float = 30.0,
        channel_mean: list[float] | None = None,
        channel_std: list[float] | None = None,
    ) -> None:
        super().__init__()
        mean = torch.zeros(in_channels) if channel_mean is None else torch.tensor(channel_mean, dtype=torch.float32)
        std = torch.ones(in_channels) if channel_std is None else torch.tensor(channel_std, dtype=torch.float32)
        if mean.shape != (in_channels,) or std.shape != (in_channels,) or not bool((std > 0).all()):
            raise ValueError(f"channel_mean / channel_std need {in_channels} values, std > 0")
        self.register_buffer("mean", mean, persistent=False)
        self.register_buffer("std", std, persistent=False)
        pos = get_1d_sincos_pos_embed_from_grid(width, torch.arange(num_frames), output_type="pt")
        self.register_buffer("pos_embed", pos.float(), persistent=False)

        self.proj_in = nn.Linear(in_channels, width)
        self.time_proj = Timesteps(timestep_dim, flip_sin_to_cos=True, downscale_freq_shift=0)
        self.time_embed = TimestepEmbedding(timestep_dim, width)
        self.text_norm = nn.LayerNorm(text_dim)
        self.null_text = nn.Parameter(torch.randn(1, text_dim) * 0.02)
        self.text_pool = nn.Sequential(nn.Linear(text_dim, width), nn.SiLU(), nn.Linear(width, width))
        self.pose_embed = nn.Sequential(nn.Linear(3, width), nn.SiLU(), nn.Linear(width, width))
        self.blocks = nn.ModuleList([MotionBlock(width, num_heads, text_dim, mlp_ratio) for _ in range(num_layers)])
        self.norm_out = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.modulation_out = nn.Sequential(nn.SiLU(), nn.Linear(width, 2 * width))
        self.proj_out = nn.Linear(width, in_channels)
        for layer in (self.modulation_out[1], self.proj_out):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def normalize(self, controls: torch.Tensor) -> torch.Tensor:
        """(..., C) raw controls -> (..., C) model space."""
        return (controls - self.mean) / self.std

    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        """(..., C) model space -> (..., C) raw controls."""
        return x * self.std + self.mean

    def text_context(
        self, tokens: torch.Tensor | None, mask: torch.Tensor | None, dropped: torch.Tensor | None, batch: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The text tokens each row attends to: its prompt, or the null token where dropped.

        Args:
            tokens: (B, L, Dt) or None (every row unconditional).
            mask: (B, L) bool; None means all tokens are real.
            dropped: (B,) bool, rows that get the null text; None means none.
            batch: B, used when ``tokens`` is None.

        Returns:
            text (B, L', Dt) and mask (B, L') bool with L' = max(L, 1).
        """
        null = self.null_text.to(self.dtype)
        if tokens is None:
            return null.expand(batch, 1, -1), torch.ones(batch, 1, dtype=torch.bool, device=null.device)
        if mask is None:
            mask = torch.ones(tokens.shape[:2], dtype=torch.bool, device=tokens.device)
        if dropped is None:
            return tokens, mask
        null_tokens = torch.zeros_like(tokens)
        null_tokens[:, 0] = null
        null_mask = torch.zeros_like(mask)
        null_mask[:, 0] = True
        keep = ~dropped.bool()
        tokens = torch.where(rearrange(keep, "b -> b 1 1"), tokens, null_tokens)
        return tokens, torch.where(rearrange(keep, "b -> b 1"), mask, null_mask)

    def forward(
        self,
        sample: torch.Tensor,
        timestep: torch.Tensor,
        encoder_hidden_states: torch.Tensor | None,
        reference_pose: torch.Tensor,
        encoder_attention_mask: torch.Tensor | None = None,
        text_dropped: torch.Tensor | None = None,
        return_dict: bool = True,
    ) -> Transformer2DModelOutput | tuple[torch.Tensor]:
        """
        Args:
            sample: (B, T, C) noisy normalised controls, T <= num_frames.
            timestep: (B,) or scalar diffusion timesteps.
            encoder_hidden_states: (B, L, Dt) text tokens, or None for the null text.
            reference_pose: (B, 3) yaw, pitch, roll of the photo's head, degrees.
            encoder_attention_mask: (B, L) bool, True for real tokens.
            text_dropped: (B,) bool, rows that get the null text (classifier-free guidance).

        Returns:
            ``.sample`` (B, T, C): the model's prediction (its target is the scheduler's
            ``prediction_type``).
        """
        batch, frames, _ = sample.shape
        if frames > self.config.num_frames:
            raise ValueError(f"{frames} frames exceed the model's {self.config.num_frames}")
        # 1. Text tokens (prompt or null), layer-normalised, and their masked mean.
        text, text_mask = self.text_context(encoder_hidden_states, encoder_attention_mask, text_dropped, batch)
        text = self.text_norm(text.to(self.dtype))
        weights = text_mask.to(text.dtype)
        pooled = (text * weights[..., None]).sum(1) / weights.sum(1, keepdim=True)
        # 2. Conditioning vector: timestep + pooled text + reference pose.
        timestep = torch.as_tensor(timestep, device=sample.device).reshape(-1).expand(batch)
        cond = self.time_embed(self.time_proj(timestep).to(self.dtype))
        cond = cond + self.text_pool(pooled) + self.pose_embed(reference_pose.to(self.dtype) / self.config.pose_scale)
        # 3. Frame tokens with sinusoidal positions.
        x = self.proj_in(sample.to(self.dtype)) + self.pos_embed[:frames]
        # 4. Transformer blocks.
        for block in self.blocks:
            x = block(x, cond, text, text_mask)
        # 5. Final adaLN and zero-initialised projection back to controls.
        shift, scale = self.modulation_out(cond).chunk(2, dim=-1)
        out = self.proj_out(modulate(self.norm_out(x), shift, scale))
        return Transformer2DModelOutput(sample=out) if return_dict else (out,)
