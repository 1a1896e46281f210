"""The from-scratch `pixel-small` preset: lossless pixel latents and clean-sample flow matching."""

import pytest
import torch

from idvid.models.pixel_autoencoder import PixelShuffleAutoencoder


def test_pixel_latents_are_exact_and_round_trip_through_save(tmp_path):
    from idvid.models.backbones.wan import WanFamily

    vae = PixelShuffleAutoencoder(scale_factor_spatial=4, z_dim=48)
    vae.save_pretrained(tmp_path)
    loaded = PixelShuffleAutoencoder.from_pretrained(tmp_path)
    video = torch.rand(2, 3, 5, 32, 48) * 2 - 1
    family = WanFamily()
    latents = family.encode(loaded, video, generator=[torch.Generator().manual_seed(i) for i in range(2)])
    assert latents.shape == (2, 48, 5, 8, 12)
    assert 0.8 < float(latents.std()) < 1.5  # standardised for the DiT (uniform video: std 1.15)
    assert torch.allclose(family.decode(loaded, latents), video, atol=1e-5)
    with pytest.raises(ValueError, match="z_dim"):
        PixelShuffleAutoencoder(scale_factor_spatial=4, z_dim=12)


@pytest.fixture(scope="module")
def pipe():
    from idvid.engines.dit.pipeline import IDVideoPipeline

    return IDVideoPipeline.from_pretrained("pixel-small")


def test_sampler_and_objective_predict_the_clean_sample(pipe):
    from idvid.training.losses import NoisedBatch, objective, predicted_clean

    assert objective(pipe.scheduler) == "flow_x0"
    clean = torch.randn(1, 192, 3, 4, 4)
    # a model that always answers `clean` makes the sampler land exactly on it
    pipe.scheduler.set_timesteps(8)
    latents = torch.randn_like(clean)
    for t in pipe.scheduler.timesteps:
        latents = pipe.scheduler.step(clean, t, latents, return_dict=False)[0]
    assert torch.allclose(latents, clean, atol=1e-4)
    noised = NoisedBatch(torch.randn_like(clean), torch.tensor([500.0]), clean, torch.ones(1), torch.tensor([0.5]))
    assert torch.equal(predicted_clean(pipe.scheduler, noised, clean), clean)


def test_clean_sample_loss_weights_are_velocity_or_uniform(pipe):
    from idvid.training.losses import MIN_FLOW_SIGMA, noisy_inputs, row_generators

    clean = torch.randn(4, 192, 3, 4, 4)
    velocity = noisy_inputs(pipe.scheduler, clean, "uniform", row_generators(0, 0, range(4)))
    uniform = noisy_inputs(pipe.scheduler, clean, "uniform", row_generators(0, 0, range(4)), x0_weighting="uniform")
    assert torch.equal(velocity.sigma, uniform.sigma) and torch.equal(velocity.x_t, uniform.x_t)
    # |v_hat - v|^2 = |x0_hat - x0|^2 / s^2: the velocity weights are 1/s^2, the uniform ones 1
    assert torch.allclose(velocity.weight, velocity.sigma.clamp(min=MIN_FLOW_SIGMA) ** -2)
    assert torch.equal(uniform.weight, torch.ones(4))


def test_pixel_small_trains_a_step_and_generates(pipe, tmp_path, astronaut_obs):
    from idvid.data.synth import synthesize
    from idvid.training.config import from_dict
    from idvid.training.trainer import Trainer

    synthesize(tmp_path / "clips", identities=1, clips_per_identity=2, seed=0, size=64, num_frames=9,
               heldout_fraction=0.0, progress=False)
    config = from_dict({"model": "pixel-small", "data": {"root": str(tmp_path / "clips"), "num_frames": 9},
                        "train": {"trainable": "all", "steps": 1, "batch_size": 2, "checkpoint_every": 10}})
    trainer = Trainer(config, tmp_path / "run")
    terms = trainer.train_step()
    assert terms["loss"] > 0 and torch.isfinite(torch.tensor(terms["grad_norm"]))
    out = pipe(prompt="a person nods", faces=[astronaut_obs], num_inference_steps=2, seed=0)
    assert out.frames.shape == (9, 64, 64, 3)


def test_a_saved_pixel_small_pipeline_loads_in_a_fresh_process(pipe, tmp_path):
    import subprocess
    import sys

    pipe.save_pretrained(tmp_path / "saved")
    code = ("from idvid.engines.dit.pipeline import IDVideoPipeline; import sys; "
            "pipe = IDVideoPipeline.from_pretrained(sys.argv[1]); print(type(pipe.vae).__name__)")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "saved")], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("PixelShuffleAutoencoder")
