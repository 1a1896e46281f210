"""idvid's ConsisID face conditioning against the reference code, on the same random weights.

``tests/fixtures/consisid`` holds what the published code computed (consisid_eva_clip's EVA
tower, facexlib's BiSeNet and FFHQ alignment, insightface's ArcFace step, and diffusers'
``process_face_embeddings`` chaining them), run once outside the project; its README says how.
Weights come from ``recipe_weights`` (the same function the fixtures were made with) over each
model's own parameter names and shapes, so a renamed or reshaped parameter fails here."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from reference_helpers import TOLERANCE, recipe_weights
from safetensors.torch import load_file
from skimage import data

from idvid.engines.consisid.arcface import TEMPLATE, ArcFace
from idvid.engines.consisid.eva_clip import EvaVisionTower
from idvid.engines.consisid.face_encoder import FaceEncoder, ffhq_align
from idvid.engines.consisid.parsing import BiSeNet
from idvid.face.align import similarity_matrix

FIXTURES = Path(__file__).parents[2] / "fixtures" / "consisid"
EVA_SEED, BISENET_SEED = 1, 3


def reference_eva() -> EvaVisionTower:
    """The fixture's tiny EVA tower (width 32, 21 blocks, 2 heads of 16) from the reference's key list."""
    shapes = dict(json.loads((FIXTURES / "eva_clip.json").read_text())["state_dict_keys"])
    return EvaVisionTower.from_state_dict(recipe_weights(shapes, EVA_SEED), head_width=16)


def reference_bisenet() -> BiSeNet:
    parser = BiSeNet()
    shapes = {name: tuple(t.shape) for name, t in parser.state_dict().items()}
    parser.load_state_dict(recipe_weights(shapes, BISENET_SEED))  # strict: every name is the checkpoint's
    return parser.eval()


def assert_close(actual: torch.Tensor, expected: torch.Tensor, tolerance: float = TOLERANCE) -> None:
    """Within ``tolerance`` of the largest expected magnitude: float32 sums in another order."""
    assert (actual - expected).abs().max() <= tolerance * expected.abs().max()


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return data.astronaut()  # RGB, as the fixtures were made from


@pytest.fixture(scope="module")
def landmarks() -> np.ndarray:
    return load_file(FIXTURES / "arcface.safetensors")["kps"].numpy()


def test_eva_tower_matches_the_reference():
    expected = load_file(FIXTURES / "eva_clip.safetensors")
    with torch.no_grad():
        embedding, hidden = reference_eva()(expected["input"])
    assert_close(embedding, expected["embedding"])
    assert len(hidden) == 5
    for index, state in enumerate(hidden):
        assert_close(state, expected[f"hidden.{index}"])


def test_bisenet_matches_the_reference():
    expected = load_file(FIXTURES / "bisenet.safetensors")
    with torch.no_grad():
        out = reference_bisenet()(expected["input"])
    assert_close(out, expected["out"])


def test_arcface_step_matches_insightface(photo, landmarks):
    expected = load_file(FIXTURES / "arcface.safetensors")
    # The reference fits the similarity in float32 (skimage on float32 points), idvid in
    # float64: 1e-5 px apart, which moves a few bilinear samples of the crop by a grey level.
    assert np.abs(similarity_matrix(landmarks, TEMPLATE) - expected["norm_crop_matrix"].numpy()).max() < 1e-4
    embedding = ArcFace(FIXTURES / "arcface_tiny.onnx").embed(photo, landmarks)
    assert_close(torch.from_numpy(embedding), expected["embedding"], tolerance=1e-3)


def test_ffhq_alignment_matches_facexlib(photo, landmarks):
    expected = load_file(FIXTURES / "ffhq_align.safetensors")
    crop, matrix = ffhq_align(photo, landmarks)
    assert np.abs(matrix - expected["matrix"].numpy()).max() < 1e-9
    assert np.array_equal(crop, expected["crop_bgr"].numpy()[..., ::-1])


def test_the_whole_conditioning_matches_diffusers_process_face_embeddings(photo, landmarks):
    expected = load_file(FIXTURES / "conditioning.safetensors")
    encoder = FaceEncoder(ArcFace(FIXTURES / "arcface_tiny.onnx"), reference_bisenet(), reference_eva())
    face = encoder.condition(photo, landmarks)
    # BiSeNet's random logits have near-ties (96 pixels within 1e-3): float32-close ports may
    # flip a handful of mask pixels, which moves EVA's input a little
    differs = (face.image != expected["face_image_uint8"].numpy()).any(axis=-1)
    assert differs.sum() <= 16
    arcface, eva = face.id_cond[:, :512], face.id_cond[:, 512:]
    assert_close(arcface, expected["id_cond"][:, :512], tolerance=1e-3)  # the float32 fit above
    assert_close(eva, expected["id_cond"][:, 512:], tolerance=1e-4)
    for index, state in enumerate(face.id_vit_hidden):
        assert_close(state, expected[f"id_vit_hidden.{index}"], tolerance=1e-4)
