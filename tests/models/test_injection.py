"""IdentityInjector on tiny CogVideoX and Wan backbones: exact no-op when fresh, hooks that run
and go away, learning through the zero output projections, per-row identity weight, one injection
per block call, errors, meta-device sizing and save/load."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from accelerate import init_empty_weights
from adapter_helpers import open_adapter
from diffusers import CogVideoXTransformer3DModel, WanTransformer3DModel

from idvid.models.face_knowledge import FaceKnowledgeEncoder
from idvid.models.injection import IdentityInjector, find_blocks, identity_hook

IDENTITY_DIM = 32
NUM_ID_TOKENS = 4


def make_injector(backbone, seed: int = 0) -> IdentityInjector:
    torch.manual_seed(seed)
    return IdentityInjector.for_transformer(backbone.model, identity_dim=IDENTITY_DIM, inner_dim=16, num_heads=2)


def identity_tokens(batch: int = 2, seed: int = 1) -> torch.Tensor:
    return torch.randn(batch, NUM_ID_TOKENS, IDENTITY_DIM, generator=torch.Generator().manual_seed(seed))


def hook_count(model) -> int:
    return sum(identity_hook(block) is not None for block in find_blocks(model))


@torch.no_grad()
def test_fresh_injector_is_exact_noop_then_hooks_run_then_go_away(backbone):
    bare = backbone.run()
    injector = make_injector(backbone)
    kv = identity_tokens()
    # 1. Fresh adapter: output projections are zero, the backbone output is unchanged.
    with injector.attach(backbone.model, kv):
        assert hook_count(backbone.model) == 2
        fresh = backbone.run()
    assert (fresh - bare).abs().max() <= 1e-6
    # 2. A trained adapter: the hooks really run and change the output.
    open_adapter(injector, [0.5, -0.3])
    with injector.attach(backbone.model, kv):
        gated = backbone.run()
    assert (gated - bare).abs().max() > 1e-3
    # 3. Outside the context the hooks are gone.
    assert hook_count(backbone.model) == 0
    assert torch.equal(backbone.run(), bare)


@torch.no_grad()
def test_hooks_removed_on_exception(backbone):
    bare = backbone.run()
    injector = make_injector(backbone)
    open_adapter(injector, 1.0)
    with pytest.raises(KeyError), injector.attach(backbone.model, identity_tokens()):
        raise KeyError("boom")
    assert hook_count(backbone.model) == 0
    assert torch.equal(backbone.run(), bare)


@torch.no_grad()
def test_each_layer_gate_acts_on_its_own_block(backbone):
    """Only gate[1] nonzero: the injection happens after block 1 alone (layer-aware)."""
    bare = backbone.run()
    injector = make_injector(backbone)
    kv = identity_tokens()
    outputs = []
    for gates in ([0.5, 0.0], [0.0, 0.5]):
        open_adapter(injector, gates)
        with injector.attach(backbone.model, kv):
            outputs.append(backbone.run())
    assert all((out - bare).abs().max() > 1e-3 for out in outputs)
    assert (outputs[0] - outputs[1]).abs().max() > 1e-3


@torch.no_grad()
def test_identity_weight_zero_leaves_row_exactly_bare(backbone):
    bare = backbone.run()
    injector = make_injector(backbone)
    open_adapter(injector, 0.5)
    with injector.attach(backbone.model, identity_tokens(), torch.tensor([0.0, 1.0])):
        out = backbone.run()
    assert torch.equal(out[0], bare[0])
    assert (out[1] - bare[1]).abs().max() > 1e-3


@torch.no_grad()
def test_batch_one_identity_broadcasts_like_repeated_tokens(backbone):
    injector = make_injector(backbone)
    open_adapter(injector, 0.5)
    tokens = identity_tokens(batch=1)
    with injector.attach(backbone.model, tokens):
        broadcast = backbone.run()
    with injector.attach(backbone.model, tokens.repeat(2, 1, 1)):
        repeated = backbone.run()
    torch.testing.assert_close(broadcast, repeated, atol=1e-6, rtol=0)


@torch.no_grad()
def test_each_block_call_injects_once(backbone):
    injector = make_injector(backbone)
    open_adapter(injector, 0.5)
    calls = []
    injector.register_forward_hook(lambda module, args, output: calls.append(args[2]))  # args[2]: the layer
    steps = 3
    with injector.attach(backbone.model, identity_tokens()):
        for _ in range(steps):
            backbone.run()
    assert calls == [0, 1] * steps
    backbone.run()  # detached: no more calls
    assert len(calls) == 2 * steps


def _encoder_and_inputs(tiny_encoder_config, face_inputs_factory):
    torch.manual_seed(0)
    encoder = FaceKnowledgeEncoder(**tiny_encoder_config)
    assert encoder.config.hidden_dim == IDENTITY_DIM
    return encoder, face_inputs_factory()


def _train_step(backbone, injector, encoder, inputs) -> None:
    """Forward and backward of a loss on the backbone output; backward inside ``attach`` as a
    training loop does it (needed under gradient checkpointing, which re-runs the hooks)."""
    with injector.attach(backbone.model, encoder(**inputs)):
        out = backbone.run()
        target = torch.randn(out.shape, generator=torch.Generator().manual_seed(3))
        (out * target).sum().backward()


def test_fresh_adapter_learns_through_its_zero_output_projections(backbone, tiny_encoder_config,
                                                                 face_inputs_factory):
    encoder, inputs = _encoder_and_inputs(tiny_encoder_config, face_inputs_factory)
    injector = make_injector(backbone)
    _train_step(backbone, injector, encoder, inputs)
    # First step: the zero output projections learn (block error x attention output)...
    assert all(torch.count_nonzero(attn.to_out.weight.grad) > 0 for attn in injector.attns)
    # ...while what sits behind them sees exactly zero gradient, the gates included.
    assert torch.count_nonzero(injector.gate.grad) == 0
    assert all(p.grad is None or torch.count_nonzero(p.grad) == 0 for p in encoder.parameters())
    # One SGD step later, gradient reaches the gates and the face encoder.
    with torch.no_grad():
        for attn in injector.attns:
            attn.to_out.weight -= 0.1 * attn.to_out.weight.grad
    for model in (encoder, injector):
        model.zero_grad()
    _train_step(backbone, injector, encoder, inputs)
    assert (injector.gate.grad.abs() > 0).all()
    assert sum(p.grad.abs().sum() for p in encoder.parameters() if p.grad is not None) > 0


def test_open_gates_send_gradient_to_injector_and_encoder(backbone, tiny_encoder_config, face_inputs_factory):
    encoder, inputs = _encoder_and_inputs(tiny_encoder_config, face_inputs_factory)
    injector = make_injector(backbone)
    with torch.no_grad():
        open_adapter(injector, 0.5)
    _train_step(backbone, injector, encoder, inputs)
    for name, p in injector.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    for name, child in encoder.named_children():
        grad = sum(p.grad.abs().sum() for p in child.parameters())
        assert grad > 0, name
    for name in ("queries", "type_embed"):
        assert getattr(encoder, name).grad.abs().sum() > 0, name


def test_backbone_gradient_checkpointing_keeps_gradients(backbone, tiny_encoder_config, face_inputs_factory):
    encoder, inputs = _encoder_and_inputs(tiny_encoder_config, face_inputs_factory)
    injector = make_injector(backbone)
    with torch.no_grad():
        open_adapter(injector, 0.5)

    def grads() -> dict[str, torch.Tensor]:
        for model in (encoder, injector, backbone.model):
            model.zero_grad()
        _train_step(backbone, injector, encoder, inputs)
        named = [*encoder.named_parameters("encoder"), *injector.named_parameters("injector")]
        return {n: p.grad.clone() for n, p in named}

    ref = grads()
    backbone.model.enable_gradient_checkpointing()
    encoder.enable_gradient_checkpointing()
    out = grads()
    for name, g in ref.items():
        assert g.abs().sum() > 0, name
        torch.testing.assert_close(out[name], g, atol=1e-6, rtol=1e-5, msg=name)
    # Backward after leaving attach cannot re-run the removed hooks: torch says so loudly.
    with injector.attach(backbone.model, encoder(**inputs)):
        out = backbone.run()
    with pytest.raises(torch.utils.checkpoint.CheckpointError):
        out.sum().backward()


@torch.no_grad()
def test_identity_token_shape_errors(backbone):
    injector = make_injector(backbone)
    hidden = torch.randn(2, 5, injector.config.hidden_dim)
    assert injector(hidden, identity_tokens(), 0).shape == hidden.shape
    with pytest.raises(ValueError, match="identity tokens must be"):
        injector(hidden, torch.randn(2, 4, IDENTITY_DIM + 1), 0)
    with pytest.raises(ValueError, match="identity tokens must be"):
        injector(hidden, torch.randn(4, IDENTITY_DIM), 0)


@torch.no_grad()
def test_attach_errors(backbone):
    injector = make_injector(backbone)
    kv = identity_tokens()
    with pytest.raises(ValueError, match="Linear"), injector.attach(torch.nn.Linear(2, 2), kv):
        pass
    other_layers = IdentityInjector(num_layers=3, hidden_dim=16, identity_dim=IDENTITY_DIM)
    with pytest.raises(ValueError, match="3"), other_layers.attach(backbone.model, kv):
        pass
    other_width = IdentityInjector(num_layers=2, hidden_dim=24, identity_dim=IDENTITY_DIM)
    with pytest.raises(ValueError, match="width 16"), other_width.attach(backbone.model, kv):
        pass
    with pytest.raises(ValueError, match="identity_weight"), injector.attach(backbone.model, kv, torch.ones(2, 1)):
        pass
    with pytest.raises(RuntimeError, match="another identity adapter"), injector.attach(backbone.model, kv):
        with make_injector(backbone, seed=1).attach(backbone.model, kv):
            pass
    assert hook_count(backbone.model) == 0
    # Batch mismatches surface at the first block.
    with pytest.raises(ValueError, match="identity batch 3"):
        with injector.attach(backbone.model, identity_tokens(batch=3)):
            backbone.run()
    with pytest.raises(ValueError, match=r"identity_weight must be \(2,\)"):
        with injector.attach(backbone.model, kv, torch.ones(3)):
            backbone.run()


@pytest.mark.parametrize(
    "cls, overrides, num_layers, hidden_dim",
    [
        (CogVideoXTransformer3DModel, dict(num_attention_heads=4, attention_head_dim=8, num_layers=3), 3, 32),
        (WanTransformer3DModel, dict(num_attention_heads=2, attention_head_dim=16, num_layers=1), 1, 32),
    ],
)
def test_for_transformer_on_meta_device(cls, overrides, num_layers, hidden_dim, tiny_backbone_configs):
    with init_empty_weights():
        transformer = cls(**{**tiny_backbone_configs[cls.__name__], **overrides})
    assert next(transformer.parameters()).is_meta
    injector = IdentityInjector.for_transformer(transformer, identity_dim=IDENTITY_DIM, num_heads=2)
    assert (injector.config.num_layers, injector.config.hidden_dim) == (num_layers, hidden_dim)
    assert (injector.config.identity_dim, injector.config.inner_dim) == (IDENTITY_DIM, 256)
    assert not any(p.is_meta for p in injector.parameters())
    assert len(injector.attns) == num_layers and injector.attns[0].to_q.in_features == hidden_dim


def test_save_load_round_trip(backbone, tmp_path: Path):
    injector = make_injector(backbone)
    open_adapter(injector, [0.7, -0.2])
    injector.save_pretrained(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "diffusion_pytorch_model.safetensors"]
    loaded = IdentityInjector.from_pretrained(tmp_path)
    for key, value in injector.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    tokens = identity_tokens()
    with torch.no_grad():
        outputs = []
        for model in (injector, loaded):
            with model.attach(backbone.model, tokens):
                outputs.append(backbone.run())
    assert torch.equal(outputs[0], outputs[1])
    assert (outputs[0] - backbone.run()).abs().max() > 1e-3  # the loaded adapter is the saved, trained one


@torch.no_grad()
def test_fp32_injector_on_bf16_backbone(backbone_factory):
    """The adapter computes in its own dtype and hands the block its dtype back."""
    wan = backbone_factory("wan").model.to(torch.bfloat16)
    latents, text = torch.randn(2, 4, 2, 8, 8, dtype=torch.bfloat16), torch.randn(2, 8, 16, dtype=torch.bfloat16)

    def run() -> torch.Tensor:
        return wan(latents, torch.tensor([10, 700]), text).sample

    bare = run()
    injector = IdentityInjector.for_transformer(wan, identity_dim=IDENTITY_DIM, inner_dim=16, num_heads=2)
    kv = identity_tokens().to(torch.bfloat16)
    with injector.attach(wan, kv):
        fresh = run()
    assert fresh.dtype == torch.bfloat16 and torch.equal(fresh, bare)
    open_adapter(injector, 0.5)
    with injector.attach(wan, kv, torch.tensor([0.0, 1.0])):
        out = run()
    assert torch.equal(out[0], bare[0]) and (out[1] - bare[1]).abs().max() > 1e-2
