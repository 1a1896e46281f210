"""FaceObservations -> the tensors FaceKnowledgeEncoder takes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from idvid.face.observation import FaceObservation


def face_tensors(observations: Sequence[FaceObservation], crop_size: int) -> dict[str, torch.Tensor]:
    """One multi-view reference set as a batch of one.

    Returns embeddings (1, V, E), crops (1, V, 3, S, S) in [-1, 1], vertices (1, V, N, 3)
    and view_mask (1, V), all on the CPU.
    """
    crops = torch.from_numpy(np.stack([o.crop for o in observations])).permute(0, 3, 1, 2).float()
    crops = crops / 127.5 - 1.0
    if crops.shape[-1] != crop_size:
        crops = F.interpolate(crops, size=(crop_size, crop_size), mode="bilinear", antialias=True,
                              align_corners=False)
    return dict(
        embeddings=torch.from_numpy(np.stack([o.embedding for o in observations])).float()[None],
        crops=crops[None],
        vertices=torch.from_numpy(np.stack([o.vertices for o in observations])).float()[None],
        view_mask=torch.ones(1, len(observations), dtype=torch.bool),
    )
