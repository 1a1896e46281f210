"""FaceKnowledgeEncoder: shapes, view masking, order invariance, mesh normalisation, the
appearance-features path, input errors, checkpointing and save/load."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from accelerate import init_empty_weights

from idvid.models.face_knowledge import FaceKnowledgeEncoder


@pytest.fixture
def encoder(tiny_encoder_config) -> FaceKnowledgeEncoder:
    torch.manual_seed(0)
    return FaceKnowledgeEncoder(**tiny_encoder_config).eval()


@pytest.fixture
def inputs(face_inputs_factory) -> dict:
    return face_inputs_factory()


@torch.no_grad()
def test_output_shape_and_finite(encoder, inputs):
    out = encoder(**inputs)
    assert out.shape == (2, 4, 32)
    assert torch.isfinite(out).all()
    # Final LayerNorm (unit weight at init): each token has zero mean and unit variance.
    torch.testing.assert_close(out.mean(-1), torch.zeros(2, 4), atol=1e-5, rtol=0)


@torch.no_grad()
def test_padded_views_contribute_nothing(encoder, inputs):
    inputs["view_mask"] = torch.tensor([[True, True, False], [True, False, False]])
    ref = encoder(**inputs)
    # Garbage (NaN included) in padded views leaves the output bit-identical.
    garbage = {k: v.clone() for k, v in inputs.items()}
    garbage["embeddings"][0, 2] = float("nan")
    garbage["vertices"][1, 1:] = torch.randn(2, 478, 3) * 1e4
    garbage["crops"][1, 2] = float("nan")
    assert torch.equal(encoder(**garbage), ref)
    # A real view does count: changing row 0's second view changes row 0 only.
    changed = {k: v.clone() for k, v in inputs.items()}
    changed["crops"][0, 1] = -changed["crops"][0, 1]
    out = encoder(**changed)
    assert (out[0] - ref[0]).abs().max() > 1e-3
    assert torch.equal(out[1], ref[1])


@torch.no_grad()
def test_padding_equals_fewer_views(encoder, face_inputs_factory):
    """A set padded to V=3 gives the same tokens as the same set passed with V=1 (up to summation order)."""
    inputs = face_inputs_factory(batch=1, views=3)
    inputs["view_mask"] = torch.tensor([[True, False, False]])
    single = {k: v[:, :1] for k, v in inputs.items()}
    torch.testing.assert_close(encoder(**inputs), encoder(**single), atol=1e-5, rtol=0)


@torch.no_grad()
def test_view_order_does_not_matter(encoder, inputs):
    """Design decision: the view embedding comes from each view's geometry, not its slot index."""
    inputs["view_mask"] = torch.tensor([[True, True, False], [True, True, True]])
    ref = encoder(**inputs)
    perm = torch.tensor([2, 0, 1])
    permuted = {k: v[:, perm] for k, v in inputs.items()}
    out = encoder(**permuted)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=0)
    assert not torch.equal(permuted["view_mask"], inputs["view_mask"])  # the mask moved with the views


@torch.no_grad()
def test_tokens_stay_bound_to_their_view(encoder, inputs):
    """Swapping only the meshes of two views (not whole views) changes the output: the view
    embedding tells the fusion which identity/appearance tokens go with which geometry."""
    ref = encoder(**inputs)
    swapped = dict(inputs, vertices=inputs["vertices"][:, [1, 0, 2]])
    assert (encoder(**swapped) - ref).abs().max() > 1e-4


@torch.no_grad()
def test_mesh_scale_and_translation_do_not_matter_but_pose_does(encoder, inputs):
    ref = encoder(**inputs)
    moved = dict(inputs, vertices=inputs["vertices"] * 2.5 + torch.tensor([-100.0, 37.0, 12.0]))
    torch.testing.assert_close(encoder(**moved), ref, atol=1e-4, rtol=0)
    yaw = math.radians(30)
    rotation = torch.tensor(
        [[math.cos(yaw), 0.0, math.sin(yaw)], [0.0, 1.0, 0.0], [-math.sin(yaw), 0.0, math.cos(yaw)]]
    )
    turned = dict(inputs, vertices=inputs["vertices"] @ rotation.T)
    assert (encoder(**turned) - ref).abs().max() > 1e-3


@torch.no_grad()
def test_appearance_features_path(tiny_encoder_config, inputs):
    torch.manual_seed(0)
    encoder = FaceKnowledgeEncoder(**tiny_encoder_config, appearance_feature_dim=12).eval()
    assert encoder.patch_encoder is None
    features = torch.randn(2, 3, 5, 12)
    kwargs = dict(embeddings=inputs["embeddings"], vertices=inputs["vertices"], view_mask=inputs["view_mask"])
    out = encoder(**kwargs, appearance_features=features)
    assert out.shape == (2, 4, 32) and torch.isfinite(out).all()
    features[1, 0, 3] = torch.randn(12)  # (a constant shift would vanish in the input LayerNorm)
    out2 = encoder(**kwargs, appearance_features=features)
    assert torch.equal(out2[0], out[0]) and (out2[1] - out[1]).abs().max() > 1e-4
    with pytest.raises(ValueError, match="appearance_features, not crops"):
        encoder(**kwargs, crops=inputs["crops"])
    with pytest.raises(ValueError, match="appearance_features must be"):
        encoder(**kwargs, appearance_features=torch.randn(2, 3, 5, 7))


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda x: x.pop("crops"), "exactly one"),
        (lambda x: x.update(appearance_features=torch.randn(2, 3, 5, 12)), "exactly one"),
        (lambda x: x.update(embeddings=torch.randn(2, 3, 9)), "embeddings must be"),
        (lambda x: x.update(vertices=torch.randn(2, 3, 468, 3)), "vertices must be"),
        (lambda x: x.update(crops=torch.randn(2, 3, 3, 32, 32)), "crops must be"),
        (lambda x: x.update(view_mask=torch.ones(2, 3)), "bool"),
        (lambda x: x.update(view_mask=torch.tensor([[True, False, False], [False] * 3])), "at least one real view"),
    ],
)
def test_wrong_inputs_raise_value_error(encoder, inputs, change, match):
    change(inputs)
    with pytest.raises(ValueError, match=match):
        encoder(**inputs)


def test_features_path_rejects_crops_only_encoder(encoder, inputs):
    kwargs = {k: v for k, v in inputs.items() if k != "crops"}
    with pytest.raises(ValueError, match="pass crops"):
        encoder(**kwargs, appearance_features=torch.randn(2, 3, 5, 12))


def test_bad_crop_grid_config_raises(tiny_encoder_config):
    with pytest.raises(ValueError, match="divisible"):
        FaceKnowledgeEncoder(**{**tiny_encoder_config, "crop_size": 20})


def test_gradient_checkpointing_gives_same_gradients(encoder, inputs):
    def grads(model):
        model.zero_grad()
        model(**inputs).square().sum().backward()
        return {n: p.grad.clone() for n, p in model.named_parameters()}

    ref = grads(encoder)
    assert all(g.abs().sum() > 0 for g in ref.values())  # every parameter learns
    calls = []

    def counting_checkpoint(module, *args):
        calls.append(type(module).__name__)
        return torch.utils.checkpoint.checkpoint(module.__call__, *args, use_reentrant=False)

    encoder.enable_gradient_checkpointing(counting_checkpoint)
    assert encoder.is_gradient_checkpointing
    out = grads(encoder)
    # appearance (1) + mesh (1) + pooling (1) + fusion (1) blocks
    assert calls == ["TransformerBlock"] * 4
    for name, g in ref.items():
        torch.testing.assert_close(out[name], g, atol=1e-6, rtol=1e-5, msg=name)


def test_save_load_round_trip(encoder, inputs, tmp_path: Path):
    encoder.save_pretrained(tmp_path)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["config.json", "diffusion_pytorch_model.safetensors"]
    loaded = FaceKnowledgeEncoder.from_pretrained(tmp_path).eval()
    public = lambda config: {k: v for k, v in config.items() if not k.startswith("_")}  # noqa: E731
    assert public(loaded.config) == public(encoder.config)
    with torch.no_grad():
        assert torch.equal(loaded(**inputs), encoder(**inputs))


def test_default_size_is_15_to_25m_params():
    with init_empty_weights():
        encoder = FaceKnowledgeEncoder()
    n = sum(p.numel() for p in encoder.parameters())
    assert 15e6 <= n <= 25e6, n
