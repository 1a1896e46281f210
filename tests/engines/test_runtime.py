"""Memory and speed options (precision, offloading, VAE tiling, First Block Cache): checked
before any model loads, applied with diffusers' tools, planned for, and said when ignored."""

import numpy as np
import pytest
import torch
from cli_helpers import error_line, run_cli

from idvid.engines import (
    GenerationOptions,
    RuntimeOptions,
    engine_kind,
    engine_package,
    load_engine,
    plan_generation,
)
from idvid.engines.dit.limits import dit_spec
from idvid.errors import GenerationError
from idvid.video import read_video

RUN = dict(prompt="a woman nods", num_frames=9, height=64, width=64, num_inference_steps=2, seed=1)


@pytest.mark.parametrize(("argv", "message"), [
    (["--offload", "model"], "--offload model moves models between the CPU and a GPU; give --device cuda"),
    (["--cache", "2"], "--cache is a First Block Cache threshold from 0 to 1, got 2"),
])
def test_bad_runtime_options_are_one_line_before_loading(capsys, tmp_path, astronaut_path, argv, message):
    code, _, err = run_cli(capsys, "generate", "--model", "tiny", "--face", astronaut_path, "--prompt", "a nod",
                           "--out", tmp_path / "x.mp4", *argv)
    assert code == 1 and error_line(err) == f"error: {message}"
    assert "loading model" not in err and not (tmp_path / "x.mp4").exists()


def test_nano_says_it_ignores_them_and_still_makes_the_video(capsys, caplog, tmp_path, astronaut_path):
    out = tmp_path / "nano.mp4"
    code, _, err = run_cli(capsys, "generate", "--face", astronaut_path, "--prompt", "a woman nods", "--out", out,
                           "--frames", "12", "--height", "128", "--width", "128", "--dtype", "bfloat16",
                           "--vae-tiling")
    assert code == 0, err
    assert "nano ignores --dtype" in caplog.text and "nano ignores --vae-tiling" in caplog.text
    assert read_video(out).frames.shape == (12, 128, 128, 3)


@pytest.mark.parametrize("model", ["tiny", "tiny-vace"])
def test_diffusion_engines_apply_precision_tiling_and_cache(model, astronaut_path):
    engine = load_engine(model, runtime=RuntimeOptions(dtype="bfloat16", vae_tiling=True, cache=0.1))
    engine.set_progress_bar_config(disable=True)
    assert engine.transformer.dtype == torch.bfloat16 and engine.vae.dtype == torch.bfloat16
    assert engine.vae.use_tiling
    assert engine.transformer.is_cache_enabled and engine.transformer._cache_config.threshold == 0.1
    frames = engine(faces=astronaut_path, **RUN).frames
    assert frames.shape == (9, 64, 64, 3) and frames.std() > 0
    # the loaded half-precision engine plans the same as its configs say (halved once, not twice)
    options = GenerationOptions(num_frames=9, height=64, width=64)
    from_configs = engine_package(engine_kind(model)).plan(model, options, engine._runtime)
    assert engine._plan(options, "np").resident_bytes == from_configs.resident_bytes


@pytest.mark.parametrize("offload", ["model", "group"])
def test_offloading_between_cpu_and_cpu_gives_the_same_video(offload, astronaut_path):
    """What CPU-only CI can run of the offload path: the hooks are placed and run; nothing moves."""
    plain = load_engine("tiny")
    plain.set_progress_bar_config(disable=True)
    offloaded = load_engine("tiny").set_runtime(RuntimeOptions(offload=offload), device="cpu")
    offloaded.set_progress_bar_config(disable=True)
    assert np.array_equal(offloaded(faces=astronaut_path, **RUN).frames, plain(faces=astronaut_path, **RUN).frames)


def test_the_plan_counts_what_each_option_keeps_on_the_device():
    options = GenerationOptions(num_frames=17, height=512, width=512)

    def plan(**runtime):  # the engine's own plan: no device check
        return engine_package("dit").plan("tiny", options, RuntimeOptions(**runtime))

    full, half = plan(), plan(dtype="bfloat16")
    assert half.resident_bytes < full.resident_bytes and half.memory_bytes < full.memory_bytes
    assert plan(vae_tiling=True).memory_bytes < full.memory_bytes  # at 512 px the decoder dominates
    resident = [plan(offload=mode).resident_bytes for mode in ("none", "model", "group")]
    assert resident[0] > max(resident[1:])  # (tiny models are mostly VAE, so group keeps about as much as model)
    spec = dit_spec("tiny")
    text_encoder_and_adapter = spec.weight_bytes - spec.transformer_bytes - spec.vae_bytes
    # diffusers' group offloading moves a text encoder (no block list) as one group
    assert spec.device_weight_bytes(RuntimeOptions(offload="group")) >= text_encoder_and_adapter
    with pytest.raises(GenerationError, match="give --device cuda"):  # planning for a GPU needs one
        plan_generation("tiny", options, runtime=RuntimeOptions(offload="model"))
