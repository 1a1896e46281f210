"""A lossless pixel-space "autoencoder" for DiTs trained from scratch: pixel (un)shuffle.

No pretrained video VAE can be had offline, and a small one trained on a CPU is too lossy to
keep a face (a 0.6M-parameter conv autoencoder reached 15 dB PSNR in 5 minutes). Folding each
``f`` x ``f`` pixel block into channels gives latents the DiT can patchify like VAE
latents, with exact reconstruction. It exposes what the backbone families read from a VAE
(``encode(...).latent_dist``, ``decode(..., return_dict=False)``, ``z_dim`` and the scale factors in
its config), so pipelines and training use it like AutoencoderKLWan.

Pixels are standardised per colour channel with the ``channel_mean`` / ``channel_std`` buffers
(saved with the model; defaults suit [-1, 1] video) before folding.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.autoencoders.autoencoder_kl import AutoencoderKLOutput
from diffusers.models.autoencoders.vae import DecoderOutput, DiagonalGaussianDistribution
from diffusers.models.modeling_utils import ModelMixin
from einops import rearrange


class PixelShuffleAutoencoder(ModelMixin, ConfigMixin):
    """video (B, 3, T, H, W) in [-1, 1] <-> latents (B, 3 f^2, T, H / f, W / f), f = scale_factor_spatial."""

    @register_to_config
    def __init__(self, scale_factor_spatial: int = 8, z_dim: int = 192, scale_factor_temporal: int = 1,
                 pixel_std: float = 0.5) -> None:
        super().__init__()
        # Named as in a VAE's config, which is what the backbone families read.
        if z_dim != 3 * scale_factor_spatial**2 or scale_factor_temporal != 1:
            raise ValueError(f"pixel shuffle by {scale_factor_spatial} gives z_dim {3 * scale_factor_spatial**2} "
                             f"and temporal factor 1, got {z_dim} and {scale_factor_temporal}")
        self.register_buffer("channel_mean", torch.zeros(3))
        self.register_buffer("channel_std", torch.full((3,), float(pixel_std)))

    def encode(self, video: torch.Tensor, return_dict: bool = True):
        """-> AutoencoderKLOutput whose ``latent_dist`` is exact (zero variance)."""
        # 1. Standardise per colour channel.
        shape = (1, 3, 1, 1, 1)
        x = (video.float() - self.channel_mean.view(shape)) / self.channel_std.view(shape)
        # 2. Fold f x f pixel blocks into channels, frame by frame.
        frames = F.pixel_unshuffle(rearrange(x, "b c t h w -> (b t) c h w"), self.config.scale_factor_spatial)
        latents = rearrange(frames, "(b t) c h w -> b c t h w", b=video.shape[0])
        moments = torch.cat([latents, torch.full_like(latents, -30.0)], dim=1)  # log-variance -30: std ~ 3e-7
        dist = DiagonalGaussianDistribution(moments, deterministic=True)
        return AutoencoderKLOutput(latent_dist=dist) if return_dict else (dist,)

    def decode(self, latents: torch.Tensor, return_dict: bool = True):
        """latents (B, C, T, h, w) -> video (B, 3, T, H, W) (not clamped)."""
        frames = F.pixel_shuffle(rearrange(latents.float(), "b c t h w -> (b t) c h w"), self.config.scale_factor_spatial)
        video = rearrange(frames, "(b t) c h w -> b c t h w", b=latents.shape[0])
        shape = (1, 3, 1, 1, 1)
        video = video * self.channel_std.view(shape) + self.channel_mean.view(shape)
        return DecoderOutput(sample=video) if return_dict else (video,)
