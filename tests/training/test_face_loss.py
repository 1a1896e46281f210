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
