"""idvid's FantasyID modules against the released code, on the same random weights.

``tests/fixtures/fantasyid/`` holds what the reference modules (at reduced widths, their code
otherwise unchanged) computed from recipe weights; its README says how. Each test rebuilds our
module at the same widths, checks it has the reference's parameter names and shapes, loads the
same recipe weights, and compares outputs: float32, at most 1e-5 apart.
"""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from reference_helpers import TOLERANCE, max_difference, recipe_weights
from safetensors.torch import load_file

from idvid.engines.fantasyid.face_abstractor import FaceAbstractor
from idvid.engines.fantasyid.mesh_sampling import MeshSampling
from idvid.engines.fantasyid.safe_pickle import Sparse
from idvid.engines.fantasyid.spirals import extract_spirals
from idvid.engines.fantasyid.transformer import FantasyIDTransformer3DModel, LayerAttention
from idvid.engines.fantasyid.vertex_net import VertexReducer, VertexSpiralNet

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "fantasyid"
TOKEN_DIM, VERTEX_DIM = 128, 8


def with_reference_weights(module: torch.nn.Module, name: str) -> torch.nn.Module:
    """``module`` with the recipe weights of the reference's state dict, after checking that the
    two have the same keys and shapes (and that the recipe made the very tensors it made there)."""
    reference = json.loads((FIXTURES / f"{name}_keys.json").read_text())
    entries = {e["name"]: e for e in reference["state_dict"]}
    ours = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    assert ours == {k: tuple(e["shape"]) for k, e in entries.items()}
    weights = recipe_weights(ours, reference["seed"])
    for key in ("patch_embed.proj.weight", "proj_out", "layer_attention.0.to_q.weight"):
        if key in weights:
            assert hashlib.sha256(weights[key].numpy().tobytes()).hexdigest() == entries[key]["sha256"]
    module.load_state_dict(weights, strict=True)
    return module.eval()


def reference_mesh() -> MeshSampling:
    """The fixtures' icosphere hierarchy, with the spirals OpenMesh gave the reference."""
    arrays = np.load(FIXTURES / "tiny_mesh.npz")
    spirals = load_file(FIXTURES / "vertex_spiral_net.safetensors")

    def transforms(kind):
        return [Sparse(arrays[f"{kind}_{level}_row"].astype(np.int64), arrays[f"{kind}_{level}_col"].astype(np.int64),
                       arrays[f"{kind}_{level}_value"].astype(np.float32),
                       tuple(int(n) for n in arrays[f"{kind}_{level}_shape"])) for level in range(2)]

    return MeshSampling([spirals[f"spiral_indices.{level}"].numpy() for level in range(2)], transforms("down"),
                        transforms("up"))


@pytest.mark.parametrize("level", [0, 1, 2])
def test_spirals_are_openmeshs(level):
    arrays = np.load(FIXTURES / "tiny_mesh.npz")
    reference = load_file(FIXTURES / "vertex_spiral_net.safetensors")
    name = f"spiral_indices.{level}" + ("_unused" if level == 2 else "")
    ours = extract_spirals(arrays[f"vertices_{level}"], arrays[f"face_{level}"], 9)
    assert np.array_equal(ours, reference[name].numpy())


def test_a_transform_pickle_in_the_references_layout_converts_to_the_same_hierarchy(tmp_path):
    """The fixture mesh written as the release writes assets/transform.pkl: protocol 4, scipy csc
    matrices, an ``adj`` list the port does not need."""
    import pickle

    import scipy.sparse

    arrays = np.load(FIXTURES / "tiny_mesh.npz")

    def matrices(kind, levels):
        return [scipy.sparse.csc_matrix((arrays[f"{kind}_{level}_value"], (arrays[f"{kind}_{level}_row"],
                                                                            arrays[f"{kind}_{level}_col"])),
                                        shape=tuple(arrays[f"{kind}_{level}_shape"])) for level in range(levels)]

    release = {"vertices": [arrays[f"vertices_{level}"] for level in range(4)],
               "face": [arrays[f"face_{level}"] for level in range(4)], "adj": matrices("adj", 4),
               "down_transform": matrices("down", 3), "up_transform": matrices("up", 3)}
    (tmp_path / "transform.pkl").write_bytes(pickle.dumps(release, protocol=4))
    converted = MeshSampling.from_transform_pickle(tmp_path / "transform.pkl")
    expected = reference_mesh()
    for ours, theirs in zip(converted.spirals, expected.spirals):
        assert np.array_equal(ours, theirs)
    for ours, theirs in zip(converted.down + converted.up, expected.down + expected.up):
        assert ours.shape == theirs.shape and np.array_equal(ours.row, theirs.row)
        assert np.array_equal(ours.col, theirs.col) and np.array_equal(ours.value, theirs.value)


@torch.no_grad()
def test_face_abstractor():
    data = load_file(FIXTURES / "face_abstractor.safetensors")
    model = with_reference_weights(FaceAbstractor(dim=32, vit_dim=48, id_dim=40, num_vit_tokens=16, cabs_hidden=24,
                                                  num_queries=4, out_dim=TOKEN_DIM, num_latents=4), "face_abstractor")
    hidden = [data[f"input.id_vit_hidden.{i}"] for i in range(5)]
    assert max_difference(model(data["input.id_cond"], hidden), data["output"]) <= TOLERANCE


@torch.no_grad()
def test_vertex_spiral_net():
    data = load_file(FIXTURES / "vertex_spiral_net.safetensors")
    model = with_reference_weights(VertexSpiralNet(VERTEX_DIM, 42, TOKEN_DIM), "vertex_spiral_net")
    model.set_mesh(reference_mesh())
    assert max_difference(model(data["input.vertices"], data["input.hw"]), data["output"]) <= TOLERANCE


@torch.no_grad()
def test_vertex_reducer():
    data = load_file(FIXTURES / "vertex_reducer.safetensors")
    model = with_reference_weights(VertexReducer(VERTEX_DIM), "vertex_reducer")
    assert max_difference(model(data["input.x"]), data["output"]) <= TOLERANCE


@torch.no_grad()
def test_layer_attention():
    data = load_file(FIXTURES / "layer_attention.safetensors")
    model = with_reference_weights(LayerAttention(192, TOKEN_DIM, heads=4, dim_head=16), "layer_attention")
    assert max_difference(model(data["input.x"], data["input.latents"]), data["output"]) <= TOLERANCE


@torch.no_grad()
def test_whole_transformer_forward():
    data = load_file(FIXTURES / "transformer.safetensors")
    model = FantasyIDTransformer3DModel(
        num_attention_heads=4, attention_head_dim=48, in_channels=8, out_channels=4, time_embed_dim=16,
        text_embed_dim=16, num_layers=4, cross_attn_interval=2, sample_width=8, sample_height=8, sample_frames=9,
        max_text_seq_length=8, use_rotary_positional_embeddings=True, use_learned_positional_embeddings=True,
        face_dim=32, eva_dim=48, id_dim=40, eva_tokens=16, cabs_hidden=24, face_queries=4, face_latents=4,
        vertex_dim=VERTEX_DIM,
        coarse_vertices=42, face_attention_heads=4, face_attention_head_dim=16)
    model = with_reference_weights(model, "transformer")
    model.set_mesh(reference_mesh())
    args = (data["input.hidden_states"], data["input.encoder_hidden_states"], data["input.timestep"])
    rotary = (data["input.image_rotary_emb.cos"], data["input.image_rotary_emb.sin"])
    faces = dict(id_cond=data["input.id_cond"], id_vit_hidden=[data[f"input.id_vit_hidden.{i}"] for i in range(5)],
                 face_vertices=data["input.extra_face"])
    assert max_difference(model(*args, image_rotary_emb=rotary, **faces).sample, data["output"]) <= TOLERANCE
    # without face inputs the face attention stays out: the reference's backbone alone
    assert max_difference(model(*args, image_rotary_emb=rotary).sample, data["output_no_face"]) <= TOLERANCE
