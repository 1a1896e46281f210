"""The identity adapter composes with diffusers' hooks: First Block Cache, model and group
offloading, regional torch.compile, and the step-callback contract; on tiny Wan and CogVideoX."""

from collections import Counter

import pytest
import torch
from adapter_helpers import open_adapter
from diffusers.hooks import FirstBlockCacheConfig

from idvid.engines.dit.pipeline import IDVideoPipeline
from idvid.models.injection import find_blocks

PRESETS = ["tiny", "tiny-cogvideox"]
RUN = dict(prompt="a person turns left", num_frames=9, height=32, width=32, num_inference_steps=4, seed=2,
           output_type="latent")
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def trained(preset: str) -> IDVideoPipeline:
    """The tiny preset with an adapter that changes the video (a fresh one is an exact no-op)."""
    pipe = IDVideoPipeline.from_pretrained(preset)
    open_adapter(pipe.id_adapter, 0.5)
    return pipe


def video(pipe, faces, **overrides) -> torch.Tensor:
    return pipe(faces=[faces], **{**RUN, **overrides}).frames


class Calls:
    """Per layer: how often the adapter injected, and how often the block itself executed
    (its first attention runs only when the block does, not when a cache skips it)."""

    def __init__(self, pipe):
        self.injected, self.executed = Counter(), Counter()
        pipe.id_adapter.register_forward_hook(lambda module, args, out: self.injected.update([args[2]]))
        for layer, block in enumerate(find_blocks(pipe.transformer)):
            block.attn1.register_forward_hook(lambda *_, layer=layer: self.executed.update([layer]))


@pytest.mark.parametrize("preset", PRESETS)
def test_first_block_cache_at_threshold_zero_gives_the_uncached_video(preset, astronaut_obs):
    pipe = trained(preset)
    bare = video(pipe, astronaut_obs)
    pipe.transformer.enable_cache(FirstBlockCacheConfig(threshold=0.0))
    assert torch.equal(video(pipe, astronaut_obs), bare)
    assert torch.equal(video(pipe, astronaut_obs), bare)  # the cache state was reset after the first call


@pytest.mark.parametrize("preset", PRESETS)
def test_a_skipping_cache_injects_once_per_executed_block(preset, astronaut_obs):
    pipe = trained(preset)
    bare = video(pipe, astronaut_obs)
    pipe.transformer.enable_cache(FirstBlockCacheConfig(threshold=1e3))  # skips every step after the first
    calls = Calls(pipe)
    cached = video(pipe, astronaut_obs)
    layers = len(find_blocks(pipe.transformer))
    steps = RUN["num_inference_steps"]
    # The head block runs every step; the others only on the first, which the cache then replays.
    assert calls.executed == Counter({0: steps, **{layer: 1 for layer in range(1, layers)}})
    assert calls.injected == calls.executed
    assert not torch.equal(cached, bare)  # the cache really skipped work


@pytest.mark.parametrize("preset", PRESETS)
def test_model_cpu_offload_gives_the_same_video(preset, astronaut_obs):
    pipe = trained(preset)
    bare = video(pipe, astronaut_obs)
    pipe.enable_model_cpu_offload(device="cpu")  # CPU to CPU: the hooks run, nothing moves
    assert torch.equal(video(pipe, astronaut_obs), bare)
    assert hasattr(pipe.id_adapter, "_hf_hook")  # the adapter is offloaded like any model


@pytest.mark.parametrize("preset", PRESETS)
def test_group_offloading_gives_the_same_video(preset, astronaut_obs):
    pipe = trained(preset)
    bare = video(pipe, astronaut_obs)
    pipe.enable_group_offload(onload_device=torch.device("cpu"), offload_device=torch.device("cpu"),
                              offload_type="block_level", num_blocks_per_group=1)
    assert torch.equal(video(pipe, astronaut_obs), bare)


@pytest.mark.parametrize("preset", PRESETS)
def test_regionally_compiled_blocks_give_the_same_video(preset, astronaut_obs, grace_obs):
    pipe = trained(preset)
    bare, other_person = video(pipe, astronaut_obs), video(pipe, grace_obs)
    pipe.compile_blocks(fullgraph=True)  # fullgraph: the identity hook must trace without a graph break
    compiled = video(pipe, astronaut_obs)
    torch.testing.assert_close(compiled, bare, rtol=1e-4, atol=1e-4)
    assert (compiled - other_person).abs().max() > 1e-2  # the identity still reaches the compiled blocks


def test_step_callback_follows_diffusers_contract(astronaut_obs):
    pipe = trained("tiny")
    seen = []

    def callback(p, step, timestep, tensors):
        seen.append((p is pipe, step, float(timestep), tuple(tensors)))
        return {"latents": torch.zeros_like(tensors["latents"])} if step == RUN["num_inference_steps"] - 1 else {}

    progress = []
    out = video(pipe, astronaut_obs, callback_on_step_end=callback, progress=lambda d, t: progress.append((d, t)))
    timesteps = pipe.scheduler.timesteps.tolist()
    assert seen == [(True, i, t, ("latents",)) for i, t in enumerate(timesteps)]
    assert torch.equal(out, torch.zeros_like(out))  # the latents the callback returned are the result
    assert progress == [(i + 1, len(timesteps)) for i in range(len(timesteps))]


def test_an_interrupted_call_leaves_no_cache_state_behind(astronaut_obs):
    pipe = trained("tiny")
    pipe.transformer.enable_cache(FirstBlockCacheConfig(threshold=1e3))  # replays its residuals
    cached = video(pipe, astronaut_obs)

    def interrupt(p, step, timestep, tensors):
        if step == 2:
            raise KeyboardInterrupt
        return {}

    with pytest.raises(KeyboardInterrupt):
        video(pipe, astronaut_obs, seed=5, callback_on_step_end=interrupt)
    assert pipe.current_timestep is None
    assert torch.equal(video(pipe, astronaut_obs), cached)  # not started from the other seed's residuals


@pytest.mark.parametrize("preset", PRESETS)
def test_models_run_in_offload_order(preset, astronaut_obs):
    """Model offload moves a model off the GPU when the next one in the chain runs, so a model
    called out of order would stay on the GPU through the whole denoising loop."""
    pipe = trained(preset)
    first_calls = []
    for name, module in pipe.components.items():
        if isinstance(module, torch.nn.Module) and name != "id_adapter":  # the adapter runs inside the blocks
            module.register_forward_pre_hook(
                lambda *_, name=name: first_calls.append(name) if name not in first_calls else None)
    video(pipe, astronaut_obs)
    chain = [name for name in pipe.model_cpu_offload_seq.split("->") if name in first_calls]
    assert first_calls == chain and "text_encoder" in chain and "transformer" in chain


@needs_cuda
@pytest.mark.parametrize("preset", PRESETS)
def test_offloading_to_a_gpu_gives_the_gpu_video(preset, astronaut_obs):
    reference = trained(preset).to("cuda")
    expected = video(reference, astronaut_obs).cpu()
    del reference
    model_offload = trained(preset)
    model_offload.enable_model_cpu_offload(device="cuda")
    torch.testing.assert_close(video(model_offload, astronaut_obs).cpu(), expected, rtol=1e-4, atol=1e-4)
    group_offload = trained(preset)
    group_offload.enable_group_offload(onload_device=torch.device("cuda"), offload_device=torch.device("cpu"),
                                       offload_type="block_level", num_blocks_per_group=1)
    torch.testing.assert_close(video(group_offload, astronaut_obs).cpu(), expected, rtol=1e-4, atol=1e-4)
