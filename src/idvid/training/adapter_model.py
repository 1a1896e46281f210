"""The part of a training step that gradients flow through, as one module.

``accelerate.prepare`` wraps one module in DDP, FSDP or DeepSpeed, and those sync what that
module's ``forward`` uses. So the face encoder, the identity adapter and the backbone sit in one
:class:`IdentityTrainingModel`, whose ``forward`` computes the identity tokens and runs the
backbone with the adapter's hooks injecting them.

The adapter's hooks are the pipeline's own (registered once on its transformer); they read the
identity tokens the latest ``forward`` set (:class:`~idvid.models.injection.Injection`).
Backward therefore runs outside ``forward`` (as DDP needs) and still injects the same identity
when gradient checkpointing re-runs a block. Sampling with the pipeline in between (validation)
sets its own tokens for the call and restores these after.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class IdentityTrainingModel(nn.Module):
    """Face encoder + identity adapter + backbone transformer of an ``IDVideoPipeline``.

    The modules are the pipeline's own (not copies): training them trains the pipeline.
    """

    def __init__(self, pipe) -> None:
        super().__init__()
        if getattr(pipe, "transformer_2", None) is not None:
            from idvid.errors import ConfigError

            raise ConfigError("training two-expert backbones (Wan 2.2 A14B) is not supported; train one expert's "
                             "backbone directory")
        self.transformer = pipe.transformer
        self.face_encoder = pipe.face_encoder
        self.id_adapter = pipe.id_adapter
        self.family = pipe.family
        # FSDP's transformer-based wrap reads this: one unit per backbone block.
        self._no_split_modules = list(getattr(pipe.transformer, "_no_split_modules", None) or [])
        self.injection = self.id_adapter.register(self.transformer)

    def forward(
        self,
        latents: torch.Tensor,
        timestep: torch.Tensor,
        text_embeds: torch.Tensor,
        faces: dict[str, torch.Tensor],
        identity_weight: torch.Tensor,
        condition: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """One denoising prediction with identity.

        Args:
            latents: (B, C, f, h, w) noisy latents; timestep: (B,) as the transformer takes it.
            text_embeds: (B, L, D) from the backbone's text encoder.
            faces: FaceKnowledgeEncoder inputs: embeddings (B, V, 128), vertices (B, V, 478, 3),
                view_mask (B, V), and crops (B, V, 3, S, S) or appearance_features.
            identity_weight: (B,) 0 for rows trained without identity (dropout), else 1.
            condition: (B, Cc, f, h, w) image condition of image-to-video backbones, or None.

        Returns:
            (B, C, f, h, w) the backbone's output in its scheduler's prediction type.
        """
        # 1. Identity tokens, with gradients; they stay set until the next forward (see module doc).
        tokens = self.face_encoder(**faces)
        self.tokens = tokens  # for losses on the tokens themselves (read after forward)
        self.injection.tokens, self.injection.identity_weight = tokens, identity_weight
        # 2. The backbone; its blocks' hooks inject what step 1 set.
        return self.family.predict(self.transformer, latents, timestep, text_embeds, condition)

    def release(self) -> None:
        """Drop the last step's identity tokens (and their graph): training is over."""
        self.injection.tokens = self.injection.identity_weight = self.tokens = None


def face_encoder_inputs(pipe, batch: dict, device) -> tuple[dict, torch.Tensor]:
    """A dataset batch's reference views -> (FaceKnowledgeEncoder inputs on ``device``, identity
    weight (B,)). Rows without identity (dropped, or no view) get one zero view, which the encoder
    needs, and weight 0."""
    dropped = torch.as_tensor(batch["identity_dropped"])
    has_views = batch["ref_mask"].any(dim=1)
    mask = batch["ref_mask"].clone()
    mask[:, 0] |= ~has_views
    faces = {"embeddings": batch["ref_embeddings"], "vertices": batch["ref_vertices"], "view_mask": mask}
    crops = batch["ref_crops"]
    if pipe.image_encoder is not None:
        faces["appearance_features"] = torch.cat([pipe._vision_features(c[None].to(device)) for c in crops])
    else:
        b, v, _, h, w = crops.shape
        size = pipe.face_encoder.config.crop_size
        faces["crops"] = F.interpolate(crops.flatten(0, 1), size=(size, size), mode="bilinear", antialias=True,
                                       align_corners=False).view(b, v, 3, size, size)
    faces = {k: x.to(device) for k, x in faces.items()}
    return faces, (~dropped & has_views).float().to(device)
