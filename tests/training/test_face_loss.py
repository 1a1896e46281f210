"""Face-weighted diffusion loss: clips' face boxes -> latent-cell weights -> a weighted mean."""

import pytest
import torch

from idvid.training.losses import diffusion_loss, face_region_weights, latent_frame_groups


def test_latent_frames_stand_for_the_video_frames_a_causal_vae_groups():
    assert [g.tolist() for g in latent_frame_groups(9, 3)] == [[0], [1, 2, 3, 4], [5, 6, 7, 8]]
    assert [g.tolist() for g in latent_frame_groups(4, 4)] == [[0], [1], [2], [3]]
    assert [g.tolist() for g in latent_frame_groups(5, 1)] == [[0, 1, 2, 3, 4]]


def test_face_cells_get_the_weight_in_the_latent_frames_whose_video_frames_show_the_face():
    boxes = torch.zeros(2, 9, 4)
    boxes[0, 6] = torch.tensor([0.25, 0.5, 0.25, 0.5])  # one frame of row 0: x 0.25-0.5, y 0.5-1
    weights = face_region_weights(boxes, (2, 4, 3, 8, 8), 5.0)
    assert weights.shape == (2, 1, 3, 8, 8)
    expected = torch.ones(8, 8)
    expected[4:8, 2:4] = 5.0
    torch.testing.assert_close(weights[0, 0, 2], expected)
    assert (weights[0, 0, :2] == 1).all() and (weights[1] == 1).all()  # other frames, a row without boxes


def test_weighted_loss_is_the_weighted_mean_of_the_error():
    target = torch.zeros(1, 2, 1, 4, 4)
    prediction = torch.zeros_like(target)
    prediction[..., :2, :2] = 1.0  # error 1 on the 4 face cells, 0 on the other 12
    boxes = torch.tensor([[[0.0, 0.0, 0.5, 0.5]]])
    plain = diffusion_loss(prediction, target)
    weighted = diffusion_loss(prediction, target, region=face_region_weights(boxes, target.shape, 4.0))
    assert float(plain) == pytest.approx(4 / 16)
    assert float(weighted) == pytest.approx(4 * 4 / (4 * 4 + 12))
    ones = face_region_weights(torch.zeros(1, 1, 4), target.shape, 4.0)
    assert float(diffusion_loss(prediction, target, region=ones)) == pytest.approx(float(plain))


def test_token_similarity_loss_spreads_collapsed_tokens_like_the_people():
    """Tokens that start as one output for everybody, trained on the loss alone, end up with
    pairwise similarities that follow the face embeddings'."""
    from idvid.training.losses import token_similarity_loss

    generator = torch.Generator().manual_seed(0)
    people = torch.nn.functional.normalize(torch.randn(4, 128, generator=generator), dim=-1)
    embeddings = torch.nn.functional.normalize(people.repeat(2, 1) + 0.03 * torch.randn(8, 128, generator=generator), dim=-1)
    tokens = (torch.ones(8, 4, 32) + 1e-3 * torch.randn(8, 4, 32, generator=generator)).requires_grad_()
    rows = torch.ones(8)
    optimizer = torch.optim.Adam([tokens], lr=1e-2)
    first = float(token_similarity_loss(tokens, embeddings, rows))
    for _ in range(200):
        optimizer.zero_grad()
        token_similarity_loss(tokens, embeddings, rows).backward()
        optimizer.step()
    last = float(token_similarity_loss(tokens, embeddings, rows))
    assert last < first / 10, (first, last)
    pooled = torch.nn.functional.normalize(tokens.detach().mean(1), dim=-1)
    same = float((pooled[:4] * pooled[4:]).sum(-1).mean())  # the same four people, other photos
    other = float((pooled[:4] * pooled[4:].roll(1, 0)).sum(-1).mean())
    assert same > other + 0.5, (same, other)
    assert float(token_similarity_loss(tokens, embeddings, torch.tensor([1.0] + [0.0] * 7))) == 0.0  # one row: nothing to compare
