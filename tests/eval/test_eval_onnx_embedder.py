"""Pluggable ONNX face embedders (ArcFace / CurricularFace style), tested with tiny random
torch modules exported to ONNX."""

from __future__ import annotations

import numpy as np
import pytest
from eval_helpers import export_tiny_onnx

from idvid.errors import ModelFileError
from idvid.eval import EvalModels, ModelPaths, evaluate_video
from idvid.eval.embedders import OnnxFaceEmbedder
from idvid.eval.models import FACE_EMBEDDERS_ENV

torch = pytest.importorskip("torch")


def tiny_face_net():
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 8, stride=8), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(4 * 14 * 14, 16)
    ).eval()


def torch_embedding(net, crop: np.ndarray) -> np.ndarray:
    """The reference computation: [-1, 1] NCHW RGB through the torch module, L2-normalised."""
    x = torch.from_numpy(((crop.astype(np.float32) - 127.5) / 127.5).transpose(2, 0, 1)[None])
    with torch.no_grad():
        y = net(x)[0].numpy()
    return y / np.linalg.norm(y)


@pytest.fixture(scope="module")
def tiny_onnx(tmp_path_factory):
    net = tiny_face_net()
    path = tmp_path_factory.mktemp("onnx") / "arcface_tiny.onnx"
    export_tiny_onnx(net, path, (1, 3, 112, 112))
    return net, path


def test_embedder_matches_the_torch_module(tiny_onnx, astronaut_obs):
    import cv2

    net, path = tiny_onnx
    embedder = OnnxFaceEmbedder(path, backend="opencv")
    crop = cv2.resize(astronaut_obs.crop, (112, 112), interpolation=cv2.INTER_AREA)
    embedding = embedder.embed_crops(crop[None])
    assert embedding.shape == (1, 16)
    np.testing.assert_allclose(embedding[0], torch_embedding(net, crop), atol=1e-5)
    assert np.linalg.norm(embedding[0]) == pytest.approx(1.0, abs=1e-6)


def test_embedder_on_a_photo_aligns_to_the_112_template(tiny_onnx, astronaut, astronaut_obs):
    from idvid.face.align import align_face

    net, path = tiny_onnx
    embedder = OnnxFaceEmbedder(path, backend="opencv")
    crop, _ = align_face(astronaut, astronaut_obs.detection.landmarks, 112)
    np.testing.assert_allclose(embedder(astronaut, astronaut_obs.detection), torch_embedding(net, crop), atol=1e-5)


def test_facesim_onnx_metric(tiny_onnx, astronaut, grace, astronaut_obs, eval_models):
    _, path = tiny_onnx
    models = EvalModels(ModelPaths(face_embedders={"arcface": path}, onnx_backend="opencv", hf_cache=False),
                        analyzer=eval_models.analyzer)
    frames = np.stack([astronaut, grace[:512], astronaut])
    result = evaluate_video(frames, astronaut_obs, "", ["facesim_onnx"], models=models)
    assert set(result.values) == {"facesim_arcface"}
    series = result.series["facesim_arcface"].values
    assert series[0] == pytest.approx(1.0, abs=1e-5) and series[2] == pytest.approx(1.0, abs=1e-5)
    assert series[1] < 1.0 - 1e-4  # a different face gives a different embedding
    assert result.values["facesim_arcface"] == pytest.approx(np.mean(np.clip(series, 0, None)))
    assert result.directions["facesim_arcface"] is True


def test_embedders_from_the_environment(tiny_onnx, monkeypatch, tmp_path):
    _, path = tiny_onnx
    monkeypatch.setenv(FACE_EMBEDDERS_ENV, f"arcface={path}, curricularface={path}")
    assert ModelPaths().face_embedder_paths() == {"arcface": path, "curricularface": path}
    assert EvalModels(ModelPaths()).unavailable("onnx_face_embedders") is None
    monkeypatch.setenv(FACE_EMBEDDERS_ENV, "arcface")
    with pytest.raises(ModelFileError, match="label=path"):
        ModelPaths().face_embedder_paths()
    monkeypatch.delenv(FACE_EMBEDDERS_ENV)
    assert "no ONNX face embedder" in EvalModels(ModelPaths()).unavailable("onnx_face_embedders")


def test_bad_files_and_labels(tmp_path):
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    with pytest.raises(ModelFileError, match="not a loadable ONNX model"):
        OnnxFaceEmbedder(broken, backend="opencv")
    with pytest.raises(ModelFileError, match="not found"):
        OnnxFaceEmbedder(tmp_path / "missing.onnx", backend="opencv")
    with pytest.raises(ModelFileError, match="is not a file"):
        ModelPaths(face_embedders={"arcface": tmp_path / "missing.onnx"}).face_embedder_paths()
    with pytest.raises(ValueError, match="lower-case"):
        ModelPaths(face_embedders={"Arc Face": broken})


BACKENDS = ["opencv", pytest.param("onnxruntime", marks=pytest.mark.skipif(
    __import__("importlib").util.find_spec("onnxruntime") is None, reason="onnxruntime is not installed"))]


@pytest.mark.parametrize("backend", BACKENDS)
def test_torch_onnx_export(tmp_path, backend, astronaut_obs):
    """The same check on a file written by torch.onnx.export (needs the `onnx` package, which
    needs protobuf >= 5 in current releases; onnx < 1.20 works beside mediapipe 0.10.21)."""
    import cv2

    pytest.importorskip("onnx")
    net = tiny_face_net()
    path = tmp_path / "exported.onnx"
    torch.onnx.export(net, torch.zeros(1, 3, 112, 112), str(path), dynamo=False,
                      input_names=["x"], output_names=["y"])
    crop = cv2.resize(astronaut_obs.crop, (112, 112), interpolation=cv2.INTER_AREA)
    embedding = OnnxFaceEmbedder(path, backend=backend).embed_crops(crop[None])[0]
    np.testing.assert_allclose(embedding, torch_embedding(net, crop), atol=1e-5)
