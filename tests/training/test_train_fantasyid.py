"""Training FantasyID's face modules on ``tiny-fantasyid`` and the tiny synthetic clip store."""

import pytest
import torch

from idvid.errors import ConfigError
from idvid.training.config import from_dict
from idvid.training.fantasyid import FACE_MODULES
from idvid.training.trainer import Trainer


def _config(store, **train):
    values = dict(steps=2, batch_size=1, lr=1e-3, checkpoint_every=1, ema_decay=0.9, seed=0)
    values.update(train)
    return from_dict({"model": "tiny-fantasyid", "data": {"root": str(store), "num_frames": 9,
                                                          "identity_dropout": 0.3}, "train": values})


def _state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def test_only_the_face_modules_train_and_the_final_pipeline_generates(store, tmp_path, astronaut_path):
    from idvid.engines.fantasyid.pipeline import FantasyIDEnginePipeline

    trainer = Trainer(_config(store), tmp_path)
    assert {name.split(".")[1] for name in trainer.param_names} == set(FACE_MODULES)
    transformer = trainer.pipe.transformer
    before = _state(transformer)
    result = trainer.train(progress=False)
    after = _state(transformer)
    changed = {k.split(".")[0] for k in before if not torch.equal(before[k], after[k])}
    assert changed == set(FACE_MODULES)  # the backbone stays as loaded
    assert torch.isfinite(torch.tensor(result["losses"])).all()
    final = FantasyIDEnginePipeline.from_pretrained(result["final"])
    assert final.config.weights_trained and final.face_prior is not None
    reloaded = final.transformer.state_dict()
    assert all(torch.equal(reloaded[k], after[k].to(reloaded[k].dtype)) for k in after)
    final.set_progress_bar_config(disable=True)
    out = final("a woman nods", astronaut_path, num_frames=9, height=64, width=64, num_inference_steps=2)
    assert out.frames.shape == (9, 64, 64, 3)


def test_resume_reproduces_an_uninterrupted_run(store, tmp_path):
    straight = Trainer(_config(store), tmp_path / "a")
    straight.train(progress=False)
    first = Trainer(_config(store), tmp_path / "b")
    first.train(until=1, progress=False)
    resumed = Trainer(_config(store), tmp_path / "b")
    assert resumed.resume() and resumed.step == 1
    resumed.train(progress=False)
    a, b = straight.trainable_state(), resumed.trainable_state()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_rows_without_identity_get_no_face_attention(store, tmp_path):
    trainer = Trainer(_config(store), tmp_path)
    batch = trainer.batch(0)
    device = trainer.accelerator.device
    faces, _ = trainer.method.face_inputs(trainer.pipe, batch, device)
    inputs = trainer.encode(batch, [torch.Generator().manual_seed(0)])
    latents, timestep = inputs["latents"], torch.tensor([500])
    model = trainer.unwrapped
    with torch.no_grad():
        without = model(latents, timestep, inputs["text"], faces, torch.zeros(1), inputs["condition"])
        with_face = model(latents, timestep, inputs["text"], faces, torch.ones(1), inputs["condition"])
        model.release()
        backbone = model.family.predict(model.transformer, latents, timestep, inputs["text"], inputs["condition"])
    assert torch.equal(without, backbone) and not torch.equal(with_face, backbone)


@pytest.mark.parametrize("section, values, named", [
    ("train", {"trainable": "all"}, "train.trainable: all"),
    ("lora", {"rank": 4}, "lora"),
    ("identity_loss", {"weight": 0.1}, "identity_loss"),
    ("validation", {"every": 5}, "validation"),
])
def test_what_belongs_to_the_adapter_is_refused_in_one_line(store, tmp_path, section, values, named):
    config = from_dict({"model": "tiny-fantasyid", "data": {"root": str(store), "num_frames": 9}, section: values})
    with pytest.raises(ConfigError, match=f"^FantasyID trains its face modules only; {named} belong"):
        Trainer(config, tmp_path)
