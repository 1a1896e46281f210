"""Fréchet distance on Gaussians of known distance, and Face FID with a tiny ONNX extractor."""

from __future__ import annotations

import math

import numpy as np
import pytest
from eval_helpers import export_tiny_onnx

from idvid.eval import ModelPaths, evaluate_video
from idvid.eval.fid import frechet_distance, frechet_distance_from_features, gaussian_stats


def test_diagonal_gaussians_closed_form():
    # For commuting covariances FD = |mu1 - mu2|^2 + sum (sqrt(a) - sqrt(b))^2.
    mu1, mu2 = np.array([0.0, 1.0, -2.0]), np.array([3.0, 1.0, 2.0])
    var1, var2 = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 9.0])
    expected = 25.0 + (1 - 2) ** 2 + (2 - 1) ** 2 + 0.0
    assert frechet_distance(mu1, np.diag(var1), mu2, np.diag(var2)) == pytest.approx(expected, abs=1e-9)


def test_general_gaussians_match_the_matrix_square_root():
    scipy_linalg = pytest.importorskip("scipy.linalg")
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((5, 5)), rng.standard_normal((5, 5))
    s1, s2 = a @ a.T + 0.1 * np.eye(5), b @ b.T
    mu1, mu2 = rng.standard_normal(5), rng.standard_normal(5)
    reference = ((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * scipy_linalg.sqrtm(s1 @ s2).real)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(reference, rel=1e-8)


def test_identical_and_symmetric():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((50, 4))
    mu, sigma = gaussian_stats(x)
    assert frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-9)
    y = rng.standard_normal((40, 4)) * 2 + 1
    assert frechet_distance_from_features(x, y) == pytest.approx(frechet_distance_from_features(y, x), rel=1e-9)


def test_samples_estimate_the_known_distance():
    # N(0, I) vs N(m, 4 I) in 3-D: FD = |m|^2 + 3 (2 - 1)^2 = 4 + 3 = 7.
    rng = np.random.default_rng(3)
    x = rng.standard_normal((20000, 3))
    y = np.array([2.0, 0.0, 0.0]) + 2.0 * rng.standard_normal((20000, 3))
    assert frechet_distance_from_features(x, y) == pytest.approx(7.0, rel=0.03)


def test_few_samples_in_many_dimensions_use_the_exact_low_rank_form():
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((16, 64)), rng.standard_normal((3, 64)) + 0.5
    full = frechet_distance(*gaussian_stats(a), *gaussian_stats(b))
    assert frechet_distance_from_features(a, b) == pytest.approx(full, rel=1e-7)
    # one sample: zero covariance, the distance is |mu - x|^2 + tr(S)
    one = b[:1]
    expected = ((a.mean(0) - one[0]) ** 2).sum() + np.trace(np.cov(a, rowvar=False))
    assert frechet_distance_from_features(a, one) == pytest.approx(expected, rel=1e-9)


def test_bad_features_raise():
    with pytest.raises(ValueError, match="dimension"):
        frechet_distance_from_features(np.zeros((3, 4)), np.zeros((3, 5)))
    with pytest.raises(ValueError, match="NaN"):
        frechet_distance_from_features(np.full((3, 4), np.nan), np.zeros((3, 4)))


@pytest.fixture(scope="module")
def tiny_extractor(tmp_path_factory):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 4, stride=4), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()
    ).eval()
    path = tmp_path_factory.mktemp("fid") / "features.onnx"
    export_tiny_onnx(net, path, (1, 3, 32, 32))
    return net, path


def test_face_fid_skipped_without_extractor(astronaut, astronaut_obs, eval_models):
    result = evaluate_video(np.stack([astronaut] * 2), astronaut_obs, "", ["face_fid"], models=eval_models)
    assert "face_fid" not in result.values
    assert "no FID feature extractor" in result.skipped["face_fid"]


def test_face_fid_with_a_tiny_onnx_extractor(tiny_extractor, astronaut, grace, astronaut_obs, eval_models):
    import cv2
    import torch

    from idvid.eval import EvalModels

    net, path = tiny_extractor
    models = EvalModels(ModelPaths(fid_features=path, fid_input_size=32, hf_cache=False),
                        analyzer=eval_models.analyzer)
    frames = np.stack([astronaut, astronaut, grace[:512]])
    result = evaluate_video(frames, astronaut_obs, "", ["face_fid"], models=models)
    distances = result.series["face_fid"].values
    assert distances[0] == pytest.approx(0.0, abs=1e-6)  # the reference photo itself
    assert distances[2] > 1e-4  # another person's face
    assert result.values["face_fid"] == pytest.approx(np.mean(distances))
    # the features are those of the torch module on the 32 px resized crop
    crop = cv2.resize(astronaut_obs.crop, (32, 32), interpolation=cv2.INTER_LINEAR)
    with torch.no_grad():
        expected = net(torch.from_numpy(crop.transpose(2, 0, 1)[None] / 255.0).float()).numpy()
    np.testing.assert_allclose(result.features["face_fid_reference"], expected, rtol=1e-4, atol=1e-6)
    assert result.features["face_fid_frames"].shape == (3, 8)
    assert not math.isnan(frechet_distance_from_features(result.features["face_fid_frames"],
                                                         result.features["face_fid_reference"]))
