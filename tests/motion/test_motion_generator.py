"""MotionGenerator: seeded takes, frame-count resampling that keeps blinks, the saved directory, user
errors, and the shipped weights turning the head the way the prompt says."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from idvid.engines.nano.motion import MotionGenerator, resample_track, shipped_motion_dir
from idvid.engines.nano.motion_dit import MotionDiT
from idvid.engines.nano.train import make_schedulers
from idvid.errors import GenerationError, ModelFileError
from idvid.render.controls import CONTROL_NAMES

TINY = dict(num_frames=49, width=32, num_layers=1, num_heads=2, timestep_dim=16)
BLINK = CONTROL_NAMES.index("blink")


@pytest.fixture(scope="module")
def tiny_generator() -> MotionGenerator:
    torch.manual_seed(0)
    model = MotionDiT(**TINY)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.05)
    return MotionGenerator(model, make_schedulers()[1], defaults={"num_inference_steps": 4})


@pytest.fixture(scope="module")
def shipped() -> MotionGenerator:
    return MotionGenerator.from_pretrained()


def test_same_seed_same_track_other_seed_other_track(tiny_generator):
    a = tiny_generator("a woman nods", seed=3)
    b = tiny_generator("a woman nods", seed=3)
    c = tiny_generator("a woman nods", seed=4)
    assert np.array_equal(a.values, b.values)
    assert not np.allclose(a.values, c.values)
    assert a.values.shape == (49, 16)


@pytest.mark.parametrize("frames", [1, 17, 49, 81])
def test_num_frames_gives_exactly_that_many_rows(tiny_generator, frames):
    assert len(tiny_generator("he turns to the right", num_frames=frames, seed=1)) == frames


def test_resampling_keeps_a_one_frame_blink():
    values = np.zeros((49, 16), dtype=np.float32)
    values[:, 0] = np.linspace(0, 30, 49)
    values[20, BLINK] = 1.0
    for frames in (13, 17, 48, 97):
        out = resample_track(values, frames)
        assert out.shape == (frames, 16) and out[:, BLINK].max() == 1.0
        assert out[0, 0] == 0 and out[-1, 0] == 30  # first and last frames kept, linear between
    assert np.array_equal(resample_track(values, 49), values)


def test_progress_callback(tiny_generator):
    calls = []
    tiny_generator("a man smiles", seed=0, num_inference_steps=3, progress=lambda i, n: calls.append((i, n)))
    assert calls == [(1, 3), (2, 3), (3, 3)]


def test_save_and_load_round_trip(tiny_generator, tmp_path):
    tiny_generator.save_pretrained(tmp_path)
    files = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert files == ["motion_generator.json", "motion_model/config.json",
                     "motion_model/diffusion_pytorch_model.safetensors", "scheduler/scheduler_config.json"]
    loaded = MotionGenerator.from_pretrained(tmp_path)
    assert loaded.defaults["num_inference_steps"] == 4
    def arguments(scheduler) -> dict:
        return {k: v for k, v in scheduler.config.items() if not k.startswith("_")}

    assert arguments(loaded.scheduler) == arguments(tiny_generator.scheduler)
    assert np.array_equal(loaded("she tilts her head", seed=2).values, tiny_generator("she tilts her head", seed=2).values)


def test_broken_directories_fail_clearly(tiny_generator, tmp_path):
    with pytest.raises(ModelFileError, match="does not exist"):
        MotionGenerator.from_pretrained(tmp_path / "nowhere")
    with pytest.raises(ModelFileError, match="motion_generator.json is missing"):
        MotionGenerator.from_pretrained(tmp_path)
    tiny_generator.save_pretrained(tmp_path)
    (tmp_path / "scheduler" / "scheduler_config.json").write_text("{not json")
    with pytest.raises(ModelFileError, match="unreadable scheduler config"):
        MotionGenerator.from_pretrained(tmp_path)
    (tmp_path / "motion_model" / "diffusion_pytorch_model.bin").write_bytes(b"pickle")
    with pytest.raises(ModelFileError, match="refusing pickle"):
        MotionGenerator.from_pretrained(tmp_path)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(num_frames=0), "num_frames"),
        (dict(num_frames=2.5), "num_frames"),
        (dict(reference_pose=(0, 0)), "reference_pose"),
        (dict(reference_pose=(0, float("nan"), 0)), "reference_pose"),
        (dict(num_inference_steps=-1), "num_inference_steps"),
    ],
)
def test_bad_inputs_raise_generation_errors(tiny_generator, kwargs, message):
    with pytest.raises(GenerationError, match=message):
        tiny_generator("a woman smiles", **kwargs)


def test_shipped_weights_are_small_and_safetensors():
    folder = shipped_motion_dir()
    weights = folder / "motion_model" / "diffusion_pytorch_model.safetensors"
    assert weights.is_file() and weights.stat().st_size <= 20 * 2**20
    assert not list(folder.rglob("*.bin")) and not list(folder.rglob("*.pt"))


def test_shipped_model_turns_left_and_right(shipped):
    left = shipped("a woman turns to the left", seed=0)
    right = shipped("a man turns to the right", seed=0)
    assert left.column("yaw").max() >= 10  # own left: yaw > 0
    assert right.column("yaw").min() <= -10
