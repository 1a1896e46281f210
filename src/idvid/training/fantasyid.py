"""Training FantasyID's face modules, which its authors did not release code for.

What trains: the face abstractor, the vertex network, the vertex reducer and the per-block face
attention; the CogVideoX backbone, VAE, T5, the face encoder (ArcFace, EVA-CLIP) and the 3D prior
(DECA, FLAME) stay frozen. Per clip, one reference view from *other* frames of the clip (the
store's multi-view set, spread over head poses) gives the face features and the FLAME point cloud,
and its aligned crop is the image the video starts from, as at inference. The loss is the
backbone's own (v-prediction for CogVideoX), with identity dropout as in the adapter's recipe.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from idvid.errors import ConfigError
from idvid.training.trainable import cast

_PRECISION = {"no": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
FACE_MODULES = ("face_abstractor", "vertex_spiral_net", "vertex_reducer", "layer_attention")


class FantasyIDTrainingModel(nn.Module):
    """The transformer whose face modules train; ``forward`` computes the face tokens (with
    gradients) and runs the backbone, whose face-attention hooks read them."""

    def __init__(self, pipe) -> None:
        super().__init__()
        from idvid.models.backbones import family_of

        self.transformer = pipe.transformer
        self.family = family_of(pipe.transformer)
        self._no_split_modules = list(getattr(pipe.transformer, "_no_split_modules", None) or [])

    def forward(self, latents: torch.Tensor, timestep: torch.Tensor, text_embeds: torch.Tensor, faces: dict,
                identity_weight: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        """faces: id_cond (B, 1280), id_vit_hidden 5 x (B, 577, 1024), vertices (B, 5023, 3);
        identity_weight (B,): 0 for rows trained without the face. Returns the backbone's output."""
        tokens = self.transformer.face_tokens(faces["id_cond"], faces["id_vit_hidden"], faces["vertices"])
        injection = self.transformer.injection
        injection.tokens, injection.identity_weight = tokens, identity_weight  # kept for backward's re-runs
        return self.family.predict(self.transformer, latents, timestep, text_embeds, condition)

    def release(self) -> None:
        self.transformer.injection.tokens = self.transformer.injection.identity_weight = None


class FantasyIDMethod:
    name = "FantasyID's face modules"
    uses_latent_cache = False  # the cache's image condition is the first frame, FantasyID's is the face

    def check(self, config) -> None:
        t = config.train
        unsupported = [("train.trainable: all", t.trainable == "all"), ("lora", config.lora.rank > 0),
                       ("identity_loss", config.identity_loss.weight > 0),
                       ("train.token_similarity_weight", t.token_similarity_weight > 0),
                       ("train.freeze_face_encoder", t.freeze_face_encoder), ("validation", config.validation.every > 0)]
        named = [name for name, given in unsupported if given]
        if named:
            raise ConfigError(f"FantasyID trains its face modules only; {', '.join(named)} belong to idvid's adapter")

    def load(self, model: str):
        from idvid.engines.fantasyid.pipeline import FantasyIDEnginePipeline

        pipe = FantasyIDEnginePipeline.from_pretrained(model)
        if pipe.face_prior is None:
            from idvid.engines.fantasyid.face_prior import NEEDS_DECA_FLAME

            raise ConfigError("training needs the references' 3D shape. " + NEEDS_DECA_FLAME.format(folder=model))
        return pipe

    def select_trainable(self, pipe, config) -> None:
        frozen = _PRECISION[config.train.mixed_precision]
        for module in pipe.components.values():
            if isinstance(module, nn.Module):
                module.requires_grad_(False).eval()
        for module in (pipe.face_encoder.eva, pipe.face_encoder.parser, pipe.face_prior.deca):
            module.requires_grad_(False).eval()
        cast(pipe.transformer, frozen)
        cast(pipe.text_encoder, frozen)
        for name in FACE_MODULES:
            module = getattr(pipe.transformer, name)
            cast(module, torch.float32)
            module.requires_grad_(True).train()

    def training_model(self, pipe) -> FantasyIDTrainingModel:
        return FantasyIDTrainingModel(pipe)

    @torch.no_grad()
    def face_inputs(self, pipe, batch: dict, device) -> tuple[dict, torch.Tensor]:
        """Each row's first reference view -> ArcFace + EVA features and its FLAME point cloud.
        Rows without identity (dropped, or no view) get a zero view's features and weight 0."""
        from idvid.engines.fantasyid.face_prior import five_point_box
        from idvid.face.align import template

        crops = _uint8(batch["ref_crops"][:, 0])
        landmarks = template(crops.shape[1])  # the store's crops are aligned to this template
        rows = [pipe.face_encoder.condition(crop, landmarks, device, torch.float32) for crop in crops]
        vertices = [pipe.face_prior.vertices(crop, five_point_box(landmarks)) for crop in crops]
        faces = {"id_cond": torch.cat([r.id_cond for r in rows]).to(device),
                 "id_vit_hidden": [torch.cat(level).to(device) for level in zip(*(r.id_vit_hidden for r in rows))],
                 "vertices": torch.from_numpy(np.stack(vertices)).to(device)}
        has_view = batch["ref_mask"][:, 0] & ~torch.as_tensor(batch["identity_dropped"])
        return faces, has_view.float().to(device)

    def encode_prompt(self, pipe, prompts: list[str]) -> torch.Tensor:
        from idvid.models.backbones.base import encode_text

        distinct = list(dict.fromkeys(prompts))
        embeds = encode_text(pipe.text_encoder, pipe.tokenizer, distinct, pipe.transformer.config.max_text_seq_length,
                             zero_padding=False)
        return embeds[[distinct.index(p) for p in prompts]]

    def condition_image(self, batch: dict, video: torch.Tensor) -> torch.Tensor:
        """The first reference view's aligned crop, stretched to the video's size as the pipeline
        stretches the 512 px crop at inference: (B, 3, H, W) in [-1, 1]."""
        crops = batch["ref_crops"][:, 0].to(video)
        return F.interpolate(crops, size=video.shape[-2:], mode="bilinear", antialias=True, align_corners=False)


def _uint8(crops: torch.Tensor) -> np.ndarray:
    """(B, 3, S, S) in [-1, 1] -> (B, S, S, 3) uint8 RGB."""
    return ((crops.permute(0, 2, 3, 1).float().cpu().numpy() + 1) * 127.5).round().clip(0, 255).astype(np.uint8)
