"""CogVideoX 1.0 (2B/5B, T2V and I2V): CogVideoXTransformer3DModel + AutoencoderKLCogVideoX + T5."""

from __future__ import annotations

import torch

from idvid.models.backbones.base import BackboneFamily, VideoGeometry


class CogVideoXFamily(BackboneFamily):
    name = "cogvideox"
    transformer_class = "CogVideoXTransformer3DModel"
    default_max_text_length = 226
    zero_text_padding = False

    def matches(self, transformer: torch.nn.Module) -> bool:
        # ConsisID's and FantasyID's transformers are CogVideoX's with face modules: same VAE, grid
        # and positions.
        return type(transformer).__name__ in (self.transformer_class, "ConsisIDTransformer3DModel",
                                              "FantasyIDTransformer3DModel")

    def geometry(self, vae, transformer) -> VideoGeometry:
        if transformer.config.get("patch_size_t") is not None:
            raise ValueError("CogVideoX 1.5 (temporal patches) is not supported yet; use a CogVideoX 1.0 model")
        spatial = 2 ** (len(vae.config.block_out_channels) - 1)
        temporal = int(vae.config.temporal_compression_ratio)
        return VideoGeometry(
            temporal=temporal,
            spatial=spatial,
            spatial_multiple=spatial * transformer.config.patch_size,
            # The VAE decodes an even latent frame count to 4f frames, not 4(f-1)+1.
            frame_step=2 * temporal,
        )

    def latent_channels(self, vae) -> int:
        return vae.config.latent_channels

    def encode(self, vae, video, generator=None):
        latents = vae.encode(video.to(vae.dtype)).latent_dist.sample(generator)
        return latents * vae.config.scaling_factor

    def decode(self, vae, latents):
        return vae.decode((latents / vae.config.scaling_factor).to(vae.dtype)).sample

    def predict(self, transformer, latents, timestep, text_embeds, condition=None):
        hidden = latents if condition is None else torch.cat([latents, condition], dim=1)
        hidden = hidden.permute(0, 2, 1, 3, 4)  # the transformer takes (B, F, C, H, W)
        config = transformer.config
        ofs = None if config.ofs_embed_dim is None else hidden.new_full((1,), 2.0)
        output = transformer(
            hidden_states=hidden.to(transformer.dtype),
            encoder_hidden_states=text_embeds.to(transformer.dtype),
            timestep=timestep,
            ofs=ofs,
            image_rotary_emb=self._rotary(transformer, hidden) if config.use_rotary_positional_embeddings else None,
            return_dict=False,
        )[0]
        return output.permute(0, 2, 1, 3, 4)

    @staticmethod
    def _rotary(transformer, hidden: torch.Tensor):
        """3D RoPE for a (B, F, C, h, w) latent, as CogVideoX 1.0 was trained with."""
        from diffusers.models.embeddings import get_3d_rotary_pos_embed
        from diffusers.pipelines.cogvideo.pipeline_cogvideox import get_resize_crop_region_for_grid

        config = transformer.config
        p = config.patch_size
        grid = (hidden.shape[3] // p, hidden.shape[4] // p)
        crops = get_resize_crop_region_for_grid(grid, config.sample_width // p, config.sample_height // p)
        return get_3d_rotary_pos_embed(
            embed_dim=config.attention_head_dim,
            crops_coords=crops,
            grid_size=grid,
            temporal_size=hidden.shape[1],
            device=hidden.device,
        )

    def default_scheduler(self):
        from diffusers import CogVideoXDDIMScheduler

        # CogVideoX-5B's published sampler settings (v-prediction, zero-terminal-SNR, shifted SNR).
        return CogVideoXDDIMScheduler(
            beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012, clip_sample=False,
            prediction_type="v_prediction", rescale_betas_zero_snr=True, set_alpha_to_one=True,
            snr_shift_scale=3.0, timestep_spacing="trailing",
        )

    def tiny_components(self, image_to_video: bool = False) -> dict:
        from diffusers import AutoencoderKLCogVideoX, CogVideoXTransformer3DModel
        from transformers import ByT5Tokenizer, T5Config, T5EncoderModel

        latent_channels = 4
        vae = AutoencoderKLCogVideoX(
            block_out_channels=(8, 8, 16, 16), latent_channels=latent_channels, layers_per_block=1,
            norm_num_groups=4, temporal_compression_ratio=4,
        )
        transformer = CogVideoXTransformer3DModel(
            num_attention_heads=2, attention_head_dim=16,
            in_channels=latent_channels * (2 if image_to_video else 1), out_channels=latent_channels,
            time_embed_dim=32, text_embed_dim=32, num_layers=2, sample_width=8, sample_height=8,
            sample_frames=9, max_text_seq_length=64, use_rotary_positional_embeddings=True,
        )
        text_encoder = T5EncoderModel(T5Config(vocab_size=384, d_model=32, d_kv=16, d_ff=64, num_layers=1, num_heads=2))
        return dict(
            transformer=transformer, vae=vae, text_encoder=text_encoder,
            tokenizer=ByT5Tokenizer(), scheduler=self.default_scheduler(),
        )
