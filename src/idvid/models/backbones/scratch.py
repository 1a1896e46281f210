"""Backbones trained from scratch on a CPU: the ``pixel-small`` preset.

What a 2-core machine can learn in minutes decides the design (measured before building it):

- **Pixel space.** No video VAE is available offline, and a small one trained here is too lossy
  for faces, so latents are 8 x 8 pixel blocks folded into channels
  (:class:`~idvid.models.pixel_autoencoder.PixelShuffleAutoencoder`): 192 channels, exact.
- **Clean-sample prediction.** A from-scratch DiT predicting velocity stayed noise after 40
  minutes; predicting the clean sample (x0) on flow-matching noise gave right backgrounds within
  9 minutes. The scheduler is UniPC on flow sigmas with ``prediction_type="sample"``, and the
  trainer's objective follows it (``idvid.training.losses``).
- **Real text features.** The frozen MiniLM sentence encoder (shipped in a registry wheel)
  instead of a random T5, so captions carry meaning from the first step.

A 64 x 64 clip of 9 frames is 144 tokens (16 x 16-pixel patches) for a 6-layer, 256-wide Wan
DiT; the face encoder and the identity adapter are scaled down to match.
"""

from __future__ import annotations

import copy

from idvid.models.face_knowledge import FaceKnowledgeEncoder
from idvid.models.injection import IdentityInjector

FACE_ENCODER = dict(hidden_dim=128, num_tokens=8, num_heads=4, fusion_layers=2, crop_size=64, appearance_grid=4,
                    appearance_width=128, appearance_layers=2, geometry_width=64, geometry_layers=1,
                    num_geometry_tokens=4, encoder_heads=4)
TRANSFORMER = dict(patch_size=(1, 2, 2), num_attention_heads=4, attention_head_dim=64, text_dim=384, freq_dim=256,
                   ffn_dim=1024, num_layers=6, rope_max_seq_len=1024)
PIXEL_FACTOR = 8


def pixel_small_components(with_text_encoder: bool = True) -> dict:
    """Random components of the ``pixel-small`` preset (the text encoder is pretrained and frozen),
    and its text length (MiniLM reads 64 word pieces). Without the text encoder (and its
    tokenizer): what a memory plan builds on the meta device, where MiniLM cannot load."""
    from diffusers import UniPCMultistepScheduler, WanTransformer3DModel

    from idvid.models.pixel_autoencoder import PixelShuffleAutoencoder
    from idvid.models.text_encoder import MAX_LENGTH, _load_minilm, resolve_text_encoder_dir

    vae = PixelShuffleAutoencoder(scale_factor_spatial=PIXEL_FACTOR, z_dim=3 * PIXEL_FACTOR**2)
    transformer = WanTransformer3DModel(in_channels=vae.config.z_dim, out_channels=vae.config.z_dim, **TRANSFORMER)
    tokenizer, text_encoder = None, None
    if with_text_encoder:
        tokenizer, shared = _load_minilm(resolve_text_encoder_dir())
        text_encoder = copy.deepcopy(shared)  # the loader caches one per process; training may cast this one
    face_encoder = FaceKnowledgeEncoder(**FACE_ENCODER)
    id_adapter = IdentityInjector.for_transformer(transformer, identity_dim=face_encoder.config.hidden_dim,
                                                  inner_dim=128, num_heads=4)
    # Low resolution needs no shift towards high noise (Wan shifts by 3 at 480p).
    scheduler = UniPCMultistepScheduler(prediction_type="sample", use_flow_sigmas=True, flow_shift=1.0,
                                        num_train_timesteps=1000)
    return dict(transformer=transformer, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
                scheduler=scheduler, face_encoder=face_encoder, id_adapter=id_adapter, max_text_length=MAX_LENGTH)
