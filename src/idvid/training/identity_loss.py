"""Identity loss: how far the face in the model's clean prediction is from the reference person.

For each training row that has identity and little noise (``max_sigma``):

1. the clean estimate x0 (``losses.predicted_clean``) of the leading ``latent_frames`` latent
   frames is decoded by the VAE, with gradients;
2. the face's five landmarks come from the *ground-truth* frame (YuNet, no gradient): at low
   noise the prediction's face sits where the target's does, and detection on the prediction
   would not be differentiable (batches from a latent cache carry no video: their clean
   latents are decoded instead);
3. the predicted frame is warped to SFace's 112 px template with ``grid_sample`` (differentiable)
   and embedded by :class:`~idvid.face.sface_torch.SFaceTorch`;
4. the loss is ``1 - cos(embedding, mean reference embedding)``, averaged over the frames whose
   ground truth shows a face.

Rows without a usable frame add nothing; the loss is then an exact zero that still depends on the
prediction, so every process of a distributed run has the same graph.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from idvid.face.align import similarity_matrix, template
from idvid.face.sface_torch import INPUT_SIZE, SFaceTorch
from idvid.training.losses import NoisedBatch, predicted_clean

MIN_FACE_SIZE = 16  # training clips are small; YuNet still finds faces of this size


def alignment_grid(matrix: np.ndarray, height: int, width: int, size: int = INPUT_SIZE) -> torch.Tensor:
    """(size, size, 2) ``grid_sample`` grid (align_corners=False) that warps an H x W image by the
    (2, 3) pixel matrix ``matrix`` (image -> crop), as ``cv2.warpAffine`` would."""
    inverse = np.linalg.inv(np.vstack([matrix, [0.0, 0.0, 1.0]]))[:2]
    v, u = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    crop = np.stack([u.ravel(), v.ravel(), np.ones(u.size)])
    x, y = inverse @ crop  # source pixel centres
    grid = np.stack([(2 * x + 1) / width - 1, (2 * y + 1) / height - 1], axis=-1)
    return torch.from_numpy(grid.reshape(size, size, 2)).float()


def aligned_faces(frames: torch.Tensor, grids: torch.Tensor) -> torch.Tensor:
    """frames (N, 3, H, W) in [-1, 1], grids (N, S, S, 2) -> SFace inputs (N, 3, S, S), RGB 0..255."""
    pixels = (frames.float() + 1.0) * 127.5
    return F.grid_sample(pixels, grids.to(pixels), mode="bilinear", padding_mode="zeros", align_corners=False)


def reference_embeddings(batch: dict) -> torch.Tensor:
    """(B, 128) unit mean of each row's valid reference embeddings (zeros for rows without)."""
    mask = batch["ref_mask"].float().unsqueeze(-1)
    mean = (batch["ref_embeddings"] * mask).sum(1) / mask.sum(1).clamp(min=1)
    return F.normalize(mean, dim=-1)


class IdentityLoss(nn.Module):
    """config: an ``IdentityLossSection`` (max_sigma, latent_frames)."""

    def __init__(self, config) -> None:
        super().__init__()
        self.config = config
        self.sface = SFaceTorch()

    def landmarks(self, frame: np.ndarray) -> np.ndarray | None:
        """(5, 2) landmarks of the largest face in a (H, W, 3) uint8 frame, or None."""
        from idvid.face.analyzer import shared_analyzer

        faces = shared_analyzer(min_face_size=MIN_FACE_SIZE).detector(frame)
        faces = [f for f in faces if f.size >= MIN_FACE_SIZE]
        return max(faces, key=lambda f: f.size).landmarks if faces else None

    def eligible_rows(self, scheduler, noised: NoisedBatch, identity_weight: torch.Tensor) -> torch.Tensor:
        """(B,) bool: rows with identity and noise at most ``max_sigma``."""
        level = noised.sigma if noised.sigma is not None \
            else noised.timestep.float() / scheduler.config.num_train_timesteps
        return (identity_weight > 0) & (level.to(identity_weight.device) <= self.config.max_sigma)

    @torch.no_grad()
    def truth_frames(self, pipe, batch: dict, latents: torch.Tensor, rows: list[int]) -> torch.Tensor:
        """(b, T, 3, H, W) uint8 ground-truth frames of ``rows``: the batch's video, or the decoded
        leading latent frames when the batch came from a latent cache."""
        if "video" in batch:
            video = batch["video"][rows]
        else:
            video = pipe.family.decode(pipe.vae, latents[rows, :, : self.config.latent_frames]).transpose(1, 2)
        return ((video.float().cpu() + 1) * 127.5).round().clamp(0, 255).byte()

    def forward(self, pipe, noised: NoisedBatch, prediction: torch.Tensor, batch: dict,
                identity_weight: torch.Tensor, latents: torch.Tensor) -> torch.Tensor:
        """latents: (B, C, f, h, w) the clean training latents -> scalar loss (0 when no row qualifies)."""
        zero = prediction.sum() * 0.0
        rows = torch.nonzero(self.eligible_rows(pipe.scheduler, noised, identity_weight)).flatten().tolist()
        if not rows:
            return zero
        # 1. Decode the clean estimate of the leading latent frames, with gradients.
        clean = predicted_clean(pipe.scheduler, noised, prediction)[rows, :, : self.config.latent_frames]
        decoded = pipe.family.decode(pipe.vae, clean)  # (b, 3, F, H, W)
        # 2. Landmarks from the ground truth; one sampling grid per usable frame.
        truth = self.truth_frames(pipe, batch, latents, rows)
        picks, grids = [], []
        height, width = decoded.shape[-2:]
        for i in range(len(rows)):
            for j in range(min(decoded.shape[2], truth.shape[1])):
                points = self.landmarks(truth[i, j].permute(1, 2, 0).numpy())
                if points is not None:
                    picks.append((i, j))
                    grids.append(alignment_grid(similarity_matrix(points, template(INPUT_SIZE)), height, width))
        if not picks:
            return zero
        # 3. Embed the predicted faces; compare with the references.
        frames = torch.stack([decoded[i, :, j] for i, j in picks])
        embeddings = self.sface(aligned_faces(frames, torch.stack(grids)))
        references = reference_embeddings(batch).to(embeddings)[[rows[i] for i, _ in picks]]
        return (1.0 - (embeddings * references).sum(-1)).mean()
