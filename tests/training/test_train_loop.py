"""Training loop on the tiny backbone and a tiny synthetic clip store."""

import shutil

import pytest
import torch

from idvid.errors import IdvidError, ModelFileError
from idvid.loop.checkpoints import latest_checkpoint
from idvid.training.config import from_dict, load_config
from idvid.training.trainer import Trainer


def _config(store, **train):
    values = dict(trainable="all", steps=4, batch_size=1, lr=1e-3, checkpoint_every=2, ema_decay=0.9, seed=0)
    values.update(train)
    return from_dict({"model": "tiny", "data": {"root": str(store), "num_frames": 5, "identity_dropout": 0.3},
                      "train": values})


def _weights(trainer):
    return {k: v.detach().clone() for k, v in trainer.trainable_state().items()}


def _fixed_batch_step(trainer, batch):
    terms = trainer.micro_step(batch, micro=0, scale=1.0)
    trainer.optimizer.step()
    trainer.optimizer.zero_grad(set_to_none=True)
    return terms["loss"]


def test_overfits_a_fixed_batch(store):
    trainer = Trainer(_config(store, lr=3e-3, ema_decay=0.0, max_grad_norm=0.0), store.parent / "overfit")
    batch = trainer.batch(0)
    losses = [_fixed_batch_step(trainer, batch) for _ in range(40)]
    print("overfit losses", losses[0], losses[-1])
    assert losses[-1] < losses[0] / 3


def test_resume_reproduces_an_uninterrupted_run(store, tmp_path):
    straight = Trainer(_config(store), tmp_path / "a")
    straight.train(progress=False)
    first = Trainer(_config(store), tmp_path / "b")
    first.train(until=2, progress=False)
    resumed = Trainer(_config(store), tmp_path / "b")
    assert resumed.resume() and resumed.step == 2
    resumed.train(progress=False)
    a, b = _weights(straight), _weights(resumed)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert all(torch.equal(x, y) for x, y in zip(straight.ema.shadow_params, resumed.ema.shadow_params))
    assert any(not torch.equal(a[k], v) for k, v in _weights(Trainer(_config(store), tmp_path / "c")).items())


def test_dataloader_workers_train_exactly_as_the_training_process_does(store, tmp_path):
    inline = Trainer(_config(store, steps=3, batch_size=2), tmp_path / "inline")  # 2 batches an epoch
    inline.train(progress=False)
    config = _config(store, steps=3, batch_size=2)
    config.data.workers = 2
    workers = Trainer(config, tmp_path / "workers")
    assert workers.loader.num_workers == 2
    workers.train(progress=False)
    a, b = _weights(inline), _weights(workers)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_checkpoints_hold_the_trainable_weights_and_are_atomic_and_checked(store, tmp_path):
    trainer = Trainer(_config(store, trainable="adapter"), tmp_path)
    trainer.train(progress=False)
    ckpt = tmp_path / "ckpt-4"
    from safetensors.torch import load_file

    # accelerate's save_state layout; the weights are safetensors and hold exactly what trains
    assert sorted(p.name for p in ckpt.iterdir()) == ["custom_checkpoint_0.pkl", "model.safetensors", "optimizer.bin",
                                                      "random_states_0.pkl", "scheduler.bin"]
    assert set(load_file(str(ckpt / "model.safetensors"))) == set(trainer.param_names)
    assert {n.split(".")[0] for n in trainer.param_names} == {"face_encoder", "id_adapter"}  # no frozen backbone
    # a leftover temp folder of an interrupted write is ignored
    shutil.copytree(ckpt, tmp_path / ".ckpt-6.part")
    assert latest_checkpoint(tmp_path) == ckpt
    # another setup's checkpoint (the backbone trains too) is one clear error
    with pytest.raises(ModelFileError, match="ckpt-4 .*other parameters"):
        Trainer(_config(store), tmp_path).resume()
    # a truncated weights file is one clear error
    weights = ckpt / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(ModelFileError, match="ckpt-4"):
        Trainer(_config(store, trainable="adapter"), tmp_path).resume()


def test_final_pipeline_loads_and_generates(store, tmp_path, astronaut_obs):
    from idvid.engines.dit.pipeline import IDVideoPipeline

    result = Trainer(_config(store, steps=2), tmp_path).train(progress=False)
    assert (tmp_path / "train_log.csv").read_text().count("\n") == 3
    pipe = IDVideoPipeline.from_pretrained(result["final"])
    assert pipe.config.weights_trained
    out = pipe(prompt="a person nods", faces=[astronaut_obs], num_frames=5, height=32, width=32,
               num_inference_steps=2, seed=0)
    assert out.frames.shape == (5, 32, 32, 3)


def test_config_errors_are_one_line(tmp_path):
    assert load_config("tiny").train.trainable == "all"
    for name in ("cogvideox-5b-i2v", "wan2.1-1.3b", "wan2.1-14b", "pixel-small"):
        assert load_config(name).model == name
    with pytest.raises(IdvidError, match=r"^train: unknown key 'lrr'; did you mean 'lr'\?$"):
        from_dict({"data": {"root": "x"}, "train": {"lrr": 1}})
    with pytest.raises(IdvidError, match=r"train.mixed_precision must be one of 'no', 'bf16', 'fp16', got 'fp8'"):
        from_dict({"data": {"root": "x"}, "train": {"mixed_precision": "fp8"}})
    with pytest.raises(IdvidError, match="validation videos need at least 2 frames"):
        from_dict({"data": {"root": "x", "num_frames": 1}, "validation": {"every": 10}})
    with pytest.raises(IdvidError, match="log_every .* must be >= 1"):  # it divides the step
        from_dict({"data": {"root": "x"}, "train": {"log_every": 0}})


def test_cogvideox_v_prediction_step_runs(store, tmp_path):
    from idvid.training.losses import objective

    trainer = Trainer(from_dict({"model": "tiny-cogvideox", "data": {"root": str(store), "num_frames": 5,
                                                                          "identity_dropout": 0.0},
                                 "train": {"trainable": "adapter", "steps": 1}}), tmp_path)
    assert objective(trainer.pipe.scheduler) == "v"
    before = _weights(trainer)
    assert trainer.train_step()["loss"] > 0
    after = _weights(trainer)
    name = "id_adapter.attns.0.to_out.weight"  # zero in a fresh adapter, the first thing to learn
    assert not torch.equal(before[name], after[name])
    assert {n.split(".")[0] for n in after} == {"face_encoder", "id_adapter"}  # backbone frozen


def test_a_frozen_face_encoder_keeps_its_weights_while_the_rest_trains(store, tmp_path):
    trainer = Trainer(_config(store, freeze_face_encoder=True, steps=2, ema_decay=0.0), tmp_path)
    encoder = {k: v.clone() for k, v in trainer.pipe.face_encoder.state_dict().items()}
    before = _weights(trainer)
    trainer.train_step()
    trainer.train_step()
    after = _weights(trainer)
    assert {n.split(".")[0] for n in after} == {"id_adapter", "transformer"}
    assert not torch.equal(before["id_adapter.attns.0.to_out.weight"], after["id_adapter.attns.0.to_out.weight"])
    assert all(torch.equal(encoder[k], v) for k, v in trainer.pipe.face_encoder.state_dict().items())
    with pytest.raises(IdvidError, match="token_similarity_weight"):
        _config(store, freeze_face_encoder=True, token_similarity_weight=1.0).validate()


def test_cli_parses_train():
    from idvid.cli import build_parser

    args = build_parser().parse_args(["train", "tiny", "--resume", "--out", "x"])
    assert args.command == "train" and args.resume and args.out == "x"


RECIPE_TINY_TWINS = {"cogvideox-5b-i2v": ("tiny-cogvideox-i2v", 9), "wan2.1-1.3b": ("tiny", 5),
                     "wan2.1-14b": ("tiny", 5), "fantasyid": ("tiny-fantasyid", 9)}


@pytest.mark.parametrize("recipe", sorted(RECIPE_TINY_TWINS))
def test_recipes_run_a_step_on_tiny_models_of_the_same_classes(recipe, store, tmp_path):
    """Every shipped recipe's settings (bf16, gradient checkpointing, accumulation, EMA, frozen
    backbone) train a step on the tiny random model of the recipe's classes."""
    config = load_config(recipe)
    twin, frames = RECIPE_TINY_TWINS[recipe]
    config.model, config.data.root, config.data.num_frames = twin, str(store), frames
    config.train.steps, config.train.checkpoint_every = 1, 1
    trainer = Trainer(config.validate(), tmp_path)
    assert trainer.pipe.transformer.dtype == torch.bfloat16  # frozen backbone in the recipe's precision
    assert all(p.dtype == torch.float32 for p in trainer.params)  # what trains stays float32
    assert trainer.pipe.transformer.is_gradient_checkpointing
    result = trainer.train(progress=False)
    assert result["step"] == 1 and torch.isfinite(torch.tensor(result["losses"])).all()
    assert (tmp_path / "final" / "model_index.json").is_file()


def test_logit_normal_flow_times_follow_their_mean():
    from idvid.training.losses import row_generators, sample_sigmas

    generators = row_generators(seed=0, step=0, rows=range(4000))
    default, noisy = sample_sigmas(generators, "logit_normal"), sample_sigmas(generators, "logit_normal", 0.8, 0.8)
    assert abs(float(default.median()) - 0.5) < 0.02
    assert abs(float(noisy.median()) - float(torch.sigmoid(torch.tensor(0.8)))) < 0.02  # 0.69
    assert float((noisy > 0.9).float().mean()) > 2 * float((default > 0.9).float().mean())


def test_adapter_lr_scale_sets_the_adapters_learning_rate(store, tmp_path):
    trainer = Trainer(_config(store, adapter_lr_scale=10.0), tmp_path)
    adapter_group, backbone_group = trainer.optimizer.param_groups
    assert adapter_group["lr"] == pytest.approx(1e-2) and backbone_group["lr"] == pytest.approx(1e-3)
    adapter = {id(p) for m in (trainer.pipe.face_encoder, trainer.pipe.id_adapter) for p in m.parameters()}
    assert {id(p) for p in adapter_group["params"]} == adapter
    assert {id(p) for p in backbone_group["params"]} == {id(p) for p in trainer.pipe.transformer.parameters()}


def test_face_loss_weight_weighs_the_batch_face_boxes(store, tmp_path):
    """Same model, batch and noise: the loss changes with face_loss_weight only through the
    clips' face boxes (with the boxes zeroed, it is the plain loss)."""
    plain = Trainer(_config(store), tmp_path / "plain")
    weighted = Trainer(_config(store, face_loss_weight=4.0), tmp_path / "weighted")
    batch = plain.batch(0)
    assert (batch["face_boxes"][..., 2:] > 0.1).all()  # synth clips carry a face box per frame
    losses = {name: t.micro_step(batch, micro=0, scale=1.0)["diffusion_loss"] for name, t in
              (("plain", plain), ("weighted", weighted))}
    assert losses["weighted"] != pytest.approx(losses["plain"], rel=1e-4)
    batch["face_boxes"].zero_()
    assert weighted.micro_step(batch, micro=0, scale=1.0)["diffusion_loss"] == pytest.approx(losses["plain"], rel=1e-5)


def test_token_similarity_loss_trains_the_face_encoder(store, tmp_path):
    trainer = Trainer(_config(store, batch_size=4, token_similarity_weight=1.0), tmp_path)
    batch = trainer.batch(0)
    batch["identity_dropped"] = torch.zeros(4, dtype=torch.bool)
    terms = trainer.micro_step(batch, micro=0, scale=1.0)
    assert terms["token_similarity_loss"] > 0
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in trainer.pipe.face_encoder.parameters())


def test_cli_refuses_negative_workers_before_any_work(capsys, tmp_path):
    from cli_helpers import run_cli

    code, _, err = run_cli(capsys, "train", "tiny", "--out", tmp_path / "run", "--workers", "-1")
    assert code == 1 and err.strip() == "error: data.workers (--workers) must be >= 0, got -1"
    assert not (tmp_path / "run").exists()
