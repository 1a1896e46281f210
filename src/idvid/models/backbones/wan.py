"""Wan 2.1 text-to-video: WanTransformer3DModel + AutoencoderKLWan + UMT5, flow matching."""

from __future__ import annotations

import torch

from idvid.models.backbones.base import BackboneFamily, VideoGeometry


class WanFamily(BackboneFamily):
    name = "wan"
    transformer_class = "WanTransformer3DModel"
    default_max_text_length = 512
    zero_text_padding = True

    def matches(self, transformer: torch.nn.Module) -> bool:
        # Wan-VACE's transformer is Wan's with control blocks: same VAE, grid and positions.
        return type(transformer).__name__ in (self.transformer_class, "WanVACETransformer3DModel")

    def geometry(self, vae, transformer) -> VideoGeometry:
        spatial, temporal = vae.config.scale_factor_spatial, vae.config.scale_factor_temporal
        return VideoGeometry(
            temporal=temporal,
            spatial=spatial,
            spatial_multiple=spatial * transformer.config.patch_size[1],
            frame_step=temporal,
        )

    def latent_channels(self, vae) -> int:
        return vae.config.z_dim

    def _stats(self, vae, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-channel latent mean and std; 0 and 1 for latents that need none (pixel space)."""
        z = vae.config.z_dim
        shape = (1, z, 1, 1, 1)
        mean = torch.tensor(vae.config.get("latents_mean") or [0.0] * z, device=like.device, dtype=like.dtype)
        std = torch.tensor(vae.config.get("latents_std") or [1.0] * z, device=like.device, dtype=like.dtype)
        return mean.view(shape), std.view(shape)

    def encode(self, vae, video, generator=None):
        latents = vae.encode(video.to(vae.dtype)).latent_dist.sample(generator)
        mean, std = self._stats(vae, latents)
        return (latents - mean) / std

    def decode(self, vae, latents):
        mean, std = self._stats(vae, latents)
        return vae.decode((latents * std + mean).to(vae.dtype), return_dict=False)[0]

    def predict(self, transformer, latents, timestep, text_embeds, condition=None):
        hidden = latents if condition is None else torch.cat([latents, condition], dim=1)
        return transformer(
            hidden_states=hidden.to(transformer.dtype),
            timestep=timestep,
            encoder_hidden_states=text_embeds.to(transformer.dtype),
            return_dict=False,
        )[0]

    def default_scheduler(self):
        from diffusers import UniPCMultistepScheduler

        # Wan's published sampler: UniPC on flow-matching sigmas, shift 3 at 480p.
        return UniPCMultistepScheduler(
            prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=3.0, num_train_timesteps=1000
        )

    def tiny_components(self, image_to_video: bool = False) -> dict:
        from diffusers import AutoencoderKLWan, WanTransformer3DModel
        from transformers import ByT5Tokenizer, UMT5Config, UMT5EncoderModel

        if image_to_video:
            raise ValueError("the Wan family here is text-to-video only")
        z_dim = 4
        vae = AutoencoderKLWan(
            base_dim=8, z_dim=z_dim, dim_mult=[1, 2, 2, 2], num_res_blocks=1,
            temperal_downsample=[False, True, True],
            latents_mean=[0.0] * z_dim, latents_std=[1.0] * z_dim,
        )
        transformer = WanTransformer3DModel(
            patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=16, in_channels=z_dim,
            out_channels=z_dim, text_dim=32, freq_dim=32, ffn_dim=64, num_layers=2, rope_max_seq_len=64,
        )
        text_encoder = UMT5EncoderModel(
            UMT5Config(vocab_size=384, d_model=32, d_kv=16, d_ff=64, num_layers=1, num_heads=2)
        )
        # ByT5's byte-level tokenizer needs no vocabulary file, so it works offline.
        return dict(
            transformer=transformer, vae=vae, text_encoder=text_encoder,
            tokenizer=ByT5Tokenizer(), scheduler=self.default_scheduler(),
        )
