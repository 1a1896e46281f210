"""Identity injection learns: on the tiny Wan backbone, a video's colour is told only by its
reference crop, and the adapter (face encoder + injector, backbone frozen) must learn to read it.

At flow time 1 the noisy input is pure noise, so the clean prediction can only match the video
through the references. After training, the right references must beat another person's by
more than the spread of the result over two seeds.
"""

import numpy as np
import pytest
import torch

from idvid.engines.dit.pipeline import IDVideoPipeline
from idvid.training.adapter_model import IdentityTrainingModel

PEOPLE = 6
STEPS = 150
LATENT_SHAPE = (4, 1, 4, 4)  # tiny Wan: (C, f, h, w) of a 1-frame 32x32 video


def _people(seed: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Per person: the clean latents their video has (a colour, through a fixed projection to
    the latent channels) and the face-encoder inputs of one reference view of that colour. The
    recogniser embedding and the mesh are the same for everybody: only the crop tells them apart."""
    generator = torch.Generator().manual_seed(seed)
    colours = torch.rand(PEOPLE, 3, generator=generator) * 2 - 1
    projection = torch.randn(3, LATENT_SHAPE[0], generator=generator)
    latents = (colours @ projection)[:, :, None, None, None].expand(-1, *LATENT_SHAPE).contiguous()
    embedding = torch.nn.functional.normalize(torch.randn(128, generator=generator), dim=0)
    crop_size = 32
    faces = {
        "crops": colours[:, None, :, None, None].expand(-1, 1, 3, crop_size, crop_size).contiguous(),
        "embeddings": embedding.expand(PEOPLE, 1, 128).contiguous(),
        "vertices": (torch.rand(478, 3, generator=generator) * 64).expand(PEOPLE, 1, 478, 3).contiguous(),
        "view_mask": torch.ones(PEOPLE, 1, dtype=torch.bool),
    }
    return latents, faces


def _train_and_score(seed: int) -> tuple[float, float]:
    """Mean squared error of the clean prediction from pure noise, with each person's own
    references and with the next person's, after STEPS steps."""
    pipe = IDVideoPipeline.from_pretrained("tiny")
    model = IdentityTrainingModel(pipe)
    model.transformer.requires_grad_(False)
    trained = [*model.face_encoder.parameters(), *model.id_adapter.parameters()]
    optimizer = torch.optim.Adam(trained, lr=3e-3)
    latents, faces = _people(seed)
    text = torch.zeros(PEOPLE, 8, pipe.transformer.config.text_dim)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(STEPS):
        noise = torch.randn(latents.shape, generator=generator)
        sigma = 0.9 + 0.1 * torch.rand(PEOPLE, generator=generator)
        s = sigma[:, None, None, None, None]
        noisy = (1 - s) * latents + s * noise
        velocity = model(noisy, sigma * 1000.0, text, faces, torch.ones(PEOPLE))
        loss = torch.nn.functional.mse_loss(noisy - s * velocity, latents)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        noise = torch.randn(latents.shape, generator=generator)
        errors = []
        for shift in (0, 1):  # own references, then the next person's
            others = {k: v.roll(shift, dims=0) for k, v in faces.items()}
            velocity = model(noise, torch.full((PEOPLE,), 1000.0), text, others, torch.ones(PEOPLE))
            errors.append(float(((noise - velocity - latents) ** 2).mean()))
    return errors[0], errors[1]


@pytest.mark.slow
def test_the_right_references_beat_another_persons_by_more_than_the_seed_spread():
    torch.manual_seed(0)  # the adapter's fresh weights
    results = np.array([_train_and_score(seed) for seed in (0, 1)])  # rows: seed; columns: right, swapped
    gaps = results[:, 1] - results[:, 0]
    spread = np.ptp(results[:, 0])
    assert gaps.min() > spread, (results, gaps, spread)
