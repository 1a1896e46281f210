"""Optional training features on the tiny backbone: LoRA, the identity loss, validation samples."""

import json

import pytest
import torch
from training_helpers import make_store

from idvid.training.config import from_dict
from idvid.training.trainer import Trainer


def _config(store, train=None, **sections):
    values = {"model": "tiny", "data": {"root": str(store), "num_frames": 5, "identity_dropout": 0.0},
              "train": {"trainable": "adapter", "steps": 2, "batch_size": 1, "lr": 1e-2, "checkpoint_every": 100,
                        **(train or {})}}
    return from_dict({**values, **sections})


def test_lora_trains_only_lora_in_the_backbone_and_folds_into_the_final_weights(store, tmp_path):
    trainer = Trainer(_config(store, lora={"rank": 4}), tmp_path)
    backbone = [n for n in trainer.param_names if n.startswith("transformer.")]
    assert backbone and all("lora_" in n for n in backbone)
    frozen = {n: p.detach().clone() for n, p in trainer.pipe.transformer.named_parameters() if not p.requires_grad}
    trainer.train(progress=False)
    assert all(torch.equal(p, frozen[n]) for n, p in trainer.pipe.transformer.named_parameters() if n in frozen)
    # the final pipeline: plain backbone weights (LoRA folded in) that give the trained model's output
    from idvid.engines.dit.pipeline import IDVideoPipeline

    loaded = IDVideoPipeline.from_pretrained(tmp_path / "final")
    assert not [n for n, _ in loaded.transformer.named_parameters() if "lora" in n]
    x = torch.randn(1, 4, 2, 8, 8, generator=torch.Generator().manual_seed(0))
    text = torch.randn(1, 8, 32, generator=torch.Generator().manual_seed(1))
    t = torch.tensor([500.0])
    family = loaded.family
    merged = family.predict(trainer.pipe.transformer, x, t, text)
    assert torch.allclose(family.predict(loaded.transformer, x, t, text), merged, atol=1e-5)
    base = IDVideoPipeline.from_pretrained("tiny").transformer
    assert not torch.allclose(family.predict(base, x, t, text), merged, atol=1e-4)  # LoRA changed it


def test_bad_lora_targets_are_one_clear_error(store, tmp_path):
    from idvid.errors import ConfigError

    with pytest.raises(ConfigError, match="lora.targets"):
        Trainer(_config(store, lora={"rank": 4, "targets": ["no_such_layer"]}), tmp_path)


def _adapter_gradient(trainer, batch):
    """The loss terms and the gradient of the adapter's first output projection (fresh: what learns)."""
    trainer.optimizer.zero_grad(set_to_none=True)
    terms = trainer.micro_step(batch, micro=0, scale=1.0)
    return terms, trainer.pipe.id_adapter.attns[0].to_out.weight.grad.clone()


def _against_flipped_references(trainer, batch, monkeypatch) -> tuple[float, float]:
    """The identity loss as trained, and with the loss's references negated (nothing else changed):
    1 - cos against the references becomes 1 + cos, so the two must add up to 2 exactly."""
    import idvid.training.identity_loss as identity_loss

    loss = float(trainer.micro_step(batch, micro=0, scale=1.0)["identity_loss"])
    original = identity_loss.reference_embeddings
    monkeypatch.setattr(identity_loss, "reference_embeddings", lambda b: -original(b))
    flipped = float(trainer.micro_step(batch, micro=0, scale=1.0)["identity_loss"])
    monkeypatch.undo()
    return loss, flipped


def test_identity_loss_is_measured_on_ground_truth_faces_and_trains_the_adapter(store, tmp_path, monkeypatch):
    pytest.importorskip("onnx")
    trainer = Trainer(_config(store, identity_loss={"weight": 1.0, "max_sigma": 1.0}), tmp_path)
    batch = trainer.batch(0)
    terms, with_identity = _adapter_gradient(trainer, batch)
    loss, flipped = _against_flipped_references(trainer, batch, monkeypatch)
    # 0 for both would mean no ground-truth face was found (nothing measured)
    assert loss == pytest.approx(float(terms["identity_loss"]), abs=1e-6) and loss + flipped == pytest.approx(2.0)
    assert terms["loss"] == pytest.approx(terms["diffusion_loss"] + terms["identity_loss"], rel=1e-5)
    trainer.config.identity_loss.weight = 0.0
    _, without = _adapter_gradient(trainer, batch)
    assert not torch.allclose(with_identity, without)  # the identity loss reaches the adapter


def test_validation_samples_held_out_identities_and_logs_scores(store, tmp_path):
    trainer = Trainer(_config(store, train={"steps": 2, "log_every": 1},
                              validation={"every": 2, "clips": 1, "num_inference_steps": 2}), tmp_path)
    trainer.train(progress=False)
    heldout = {m["clip_id"] for m in trainer.validator.dataset.metas}
    training = {m["clip_id"] for m in trainer.dataset.metas}
    assert heldout and not heldout & training
    rows = [json.loads(line) for line in (tmp_path / "validation" / "scores.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [2] and rows[0]["clip_id"] in heldout
    assert {"facesim", "face_detection_rate", "motion_amplitude"} <= set(rows[0])
    assert (tmp_path / "validation" / "step-0000002" / f"{rows[0]['clip_id']}.mp4").stat().st_size > 0
    assert list((tmp_path / "logs").glob("events.out.tfevents.*"))  # TensorBoard got the run


def test_training_reads_the_latent_cache_when_one_was_made_for_its_model(tmp_path, monkeypatch):
    from idvid.data.cache_latents import cache_latents

    root = make_store(tmp_path / "clips", identities=2, heldout_fraction=0.0)  # its own: the cache is written into it
    # pixel-small's pixel latents decode exactly, so the identity loss finds faces in them
    cache_latents(root, "pixel-small", num_frames=9, progress=False)
    values = {"model": "pixel-small", "data": {"root": str(root), "num_frames": 9, "identity_dropout": 0.0},
              "train": {"trainable": "all", "steps": 1}, "identity_loss": {"weight": 1.0, "max_sigma": 1.0, "latent_frames": 9}}
    trainer = Trainer(from_dict(values), tmp_path / "run")
    batch = trainer.batch(0)
    assert "video" not in batch and batch["latents"].shape[1:] == (192, 9, 8, 8)  # no mp4 decoded
    assert torch.equal(trainer.encode(batch, generators=[])["latents"], batch["latents"])
    terms = trainer.micro_step(batch, micro=0, scale=1.0)
    loss, flipped = _against_flipped_references(trainer, batch, monkeypatch)
    assert terms["diffusion_loss"] > 0 and loss + flipped == pytest.approx(2.0)  # faces found in decoded latents
    # another frame count is another cache: that run encodes videos itself
    other = Trainer(from_dict({**values, "data": {"root": str(root), "num_frames": 5}}), tmp_path / "other")
    assert "video" in other.batch(0)
