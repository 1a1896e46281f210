"""The part of a training step that gradients flow through, as one module.

``accelerate.prepare`` wraps one module in DDP, FSDP or DeepSpeed, and those sync what that
module's ``forward`` uses. So the face encoder, the identity adapter and the backbone sit in one
:class:`IdentityTrainingModel`, whose ``forward`` computes the identity tokens and runs the
backbone with the adapter's hooks injecting them.

The hooks are registered once, for the life of the model, and read the keys/values that the
latest ``forward`` set (:class:`~idvid.models.injection.Injection`). Backward therefore runs
outside ``forward`` (as DDP needs) and still finds the hooks when gradient checkpointing
re-runs a block.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

from idvid.models.injection import Injection


class IdentityTrainingModel(nn.Module):
    """Face encoder + identity adapter + backbone transformer of an ``IDVideoPipeline``.

    The modules are the pipeline's own (not copies): training them trains the pipeline.
    """

    def __init__(self, pipe) -> None:
        super().__init__()
        if getattr(pipe, "transformer_2", None) is not None:
            from idvid.errors import IdvidError

            raise IdvidError("training two-expert backbones (Wan 2.2 A14B) is not supported; train one expert's "
                             "backbone directory")
        self.transformer = pipe.transformer
        self.face_encoder = pipe.face_encoder
        self.id_adapter = pipe.id_adapter
        self.family = pipe.family
        # FSDP's transformer-based wrap reads this: one unit per backbone block.
        self._no_split_modules = list(getattr(pipe.transformer, "_no_split_modules", None) or [])
        self.injection = Injection()
        self._hooks = self.id_adapter.register(self.transformer, self.injection)

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
        # 1. Identity tokens and every layer's keys/values, with gradients.
        tokens = self.face_encoder(**faces)
        self.tokens = tokens  # for losses on the tokens themselves (read after forward)
        self.injection.kv = self.id_adapter.precompute(tokens)
        self.injection.identity_weight = identity_weight
        # 2. The backbone; its blocks' hooks inject what step 1 set.
        return self.family.predict(self.transformer, latents, timestep, text_embeds, condition)

    def detach(self) -> None:
        """Remove the training hooks for good (training is over)."""
        for handle in self._hooks:
            handle.remove()
        self._hooks = []

    @contextmanager
    def detached(self) -> Iterator[None]:
        """The backbone without the training hooks for a while, e.g. to sample with the pipeline,
        which attaches the adapter itself."""
        self.detach()
        try:
            yield
        finally:
            self._hooks = self.id_adapter.register(self.transformer, self.injection)


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
