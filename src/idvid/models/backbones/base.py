"""What the pipeline needs to know about a family of diffusers video DiTs.

A family adapts one backbone class (and its VAE, text encoder and scheduler) to a common
latent layout, (B, C, F, H, W), so the pipeline and the trainer never branch on the family.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class VideoGeometry:
    """How pixel sizes map to latent sizes.

    Valid frame counts are ``frame_step * k + 1`` (``frame_step`` is the VAE's temporal
    factor, or a multiple of it when the VAE needs an odd latent frame count); valid heights
    and widths are multiples of ``spatial_multiple`` (VAE spatial factor x patch size).
    """

    temporal: int
    spatial: int
    spatial_multiple: int
    frame_step: int

    def latent_frames(self, num_frames: int) -> int:
        return (num_frames - 1) // self.temporal + 1

    def check(self, num_frames: int, height: int, width: int) -> None:
        """Raise GenerationError naming the nearest valid values when a size does not fit."""
        from idvid.errors import GenerationError

        problems = []
        step = self.frame_step
        if num_frames < 1 or (num_frames - 1) % step:
            lower = step * max(0, (num_frames - 1) // step) + 1
            nearest = [lower, lower + step]
            problems.append(
                f"frames must be {step}k+1 (got {num_frames}; nearest valid: "
                + " or ".join(map(str, nearest)) + ")"
            )
        for name, value in (("height", height), ("width", width)):
            m = self.spatial_multiple
            if value < m or value % m:
                lower, upper = max(m, value // m * m), max(m, -(-value // m) * m)
                nearest = " or ".join(map(str, sorted({lower, upper})))
                problems.append(f"{name} must be a multiple of {m} (got {value}; nearest valid: {nearest})")
        if problems:
            raise GenerationError("; ".join(problems))


class BackboneFamily(ABC):
    """Adapter from one diffusers video DiT family to the pipeline's common interface."""

    name: str
    transformer_class: str
    default_max_text_length: int
    # Keep the text encoder's padding positions as zeros (Wan) or as encoded pads (CogVideoX).
    zero_text_padding: bool

    def matches(self, transformer: torch.nn.Module) -> bool:
        return type(transformer).__name__ == self.transformer_class

    @abstractmethod
    def geometry(self, vae, transformer) -> VideoGeometry:
        """Frame and size factors of this VAE + transformer pair."""

    @abstractmethod
    def latent_channels(self, vae) -> int: ...

    def condition_channels(self, vae, transformer) -> int:
        """Channels of the image condition concatenated to the noisy latents (0 for T2V)."""
        return transformer.config.in_channels - self.latent_channels(vae)

    @abstractmethod
    def encode(self, vae, video: torch.Tensor, generator=None) -> torch.Tensor:
        """video (B, 3, F, H, W) in [-1, 1] -> normalised latents (B, C, f, h, w)."""

    @abstractmethod
    def decode(self, vae, latents: torch.Tensor) -> torch.Tensor:
        """normalised latents (B, C, f, h, w) -> video (B, 3, F, H, W) in [-1, 1]."""

    @abstractmethod
    def predict(
        self,
        transformer,
        latents: torch.Tensor,
        timestep: torch.Tensor,
        text_embeds: torch.Tensor,
        condition: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """One transformer call. latents (B, C, f, h, w), timestep (B,), text_embeds (B, L, D),
        condition (B, Cc, f, h, w) or None -> model output (B, C, f, h, w) in the scheduler's
        prediction type."""

    @abstractmethod
    def default_scheduler(self):
        """The sampling scheduler this family was trained with (uniform ``step`` signature)."""

    @abstractmethod
    def tiny_components(self, image_to_video: bool = False) -> dict:
        """Randomly initialised components of the same classes, small enough for CPU tests."""

    def image_condition(self, vae, image: torch.Tensor, latent_frames: int, generator=None) -> torch.Tensor:
        """image (B, 3, H, W) in [-1, 1] -> condition latents (B, C, f, h, w): the encoded
        image as the first latent frame, zeros after it."""
        first = self.encode(vae, image.unsqueeze(2), generator)
        padding = first.new_zeros(first.shape[0], first.shape[1], latent_frames - 1, *first.shape[3:])
        return torch.cat([first, padding], dim=2)


def encode_text(text_encoder, tokenizer, prompts: list[str], max_length: int, zero_padding: bool) -> torch.Tensor:
    """T5-style prompt encoding shared by the families: prompts -> (B, max_length, D)."""
    tokens = tokenizer(
        prompts,
        padding="max_length",
        max_length=max_length,
        truncation=True,
        add_special_tokens=True,
        return_attention_mask=True,
        return_tensors="pt",
    )
    device = text_encoder.device
    mask = tokens.attention_mask.to(device)
    embeds = text_encoder(tokens.input_ids.to(device), attention_mask=mask).last_hidden_state
    if zero_padding:
        embeds = embeds * mask.unsqueeze(-1).to(embeds.dtype)
    return embeds


def count_tokens(tokenizer, prompt: str) -> int:
    """Tokens the prompt needs, special tokens included, before any truncation."""
    return len(tokenizer(prompt, add_special_tokens=True, truncation=False).input_ids)
