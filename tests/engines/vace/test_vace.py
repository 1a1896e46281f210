"""Wan-VACE as an idvid engine, on ``tiny-vace`` (random tiny models of the real diffusers
classes): the reference cut-out on real photos, the call through the API and the CLI, weights
found like every preset's, and idvid's identity adapter on the VACE transformer."""

import shutil

import numpy as np
import pytest
import torch
from adapter_helpers import open_adapter
from cli_helpers import error_line, run_cli

from idvid.engines import engine_kind, load_engine, plan_generation
from idvid.engines.request import GenerationOptions
from idvid.engines.vace.pipeline import VacePipeline
from idvid.engines.vace.reference import subject_reference
from idvid.errors import GenerationError, ModelFileError
from idvid.video import read_video

RUN = dict(num_frames=9, height=64, width=64, num_inference_steps=2, guidance_scale=3.0, seed=3)


@pytest.fixture(scope="module")
def tiny_vace():
    engine = load_engine("tiny-vace")
    engine.set_progress_bar_config(disable=True)
    return engine


def blue_share(image: np.ndarray) -> float:
    """Share of clearly blue pixels (Grace Hopper's studio backdrop)."""
    r, g, b = (image[..., c].astype(int) for c in range(3))
    return float(((b > 90) & (b > r + 40) & (b > g + 20)).mean())


def test_the_reference_is_the_person_alone_on_white(analyzer, grace, grace_obs, astronaut_obs):
    reference = subject_reference(grace, grace_obs, 480, 832)
    assert reference.shape == (480, 832, 3) and reference.dtype == np.uint8
    assert blue_share(grace) > 0.15 and blue_share(reference) < 0.01  # the backdrop is cut away
    assert (reference[:, :40] == 255).all() and (reference[:, -40:] == 255).all()  # letterboxed on white
    again = analyzer.analyze(reference)  # the person is still there, and still her
    assert float(again.embedding @ grace_obs.embedding) > 0.9
    assert float(again.embedding @ astronaut_obs.embedding) < 0.4


def test_api_makes_a_video_and_each_photo_is_one_reference(tiny_vace, astronaut_path, grace_path, monkeypatch):
    seen = []
    original = VacePipeline.preprocess_conditions

    def spy(self, video, mask, reference_images, *args, **kwargs):
        seen.append(len(reference_images))
        return original(self, video, mask, reference_images, *args, **kwargs)

    monkeypatch.setattr(VacePipeline, "preprocess_conditions", spy)
    progress = []
    one = tiny_vace("a woman waves, on a beach", astronaut_path, progress=lambda *p: progress.append(p), **RUN)
    assert one.frames.shape == (9, 64, 64, 3) and one.frames.dtype == np.uint8 and one.fps == 8
    assert progress == [(1, 2), (2, 2)]
    again = tiny_vace("a woman waves, on a beach", astronaut_path, **RUN)
    two = tiny_vace("a woman waves, on a beach", [astronaut_path, astronaut_path], **RUN)
    assert seen == [1, 1, 2]
    assert np.array_equal(one.frames, again.frames)  # the seed decides
    assert not np.array_equal(one.frames, two.frames)  # the second reference reaches the model


def test_requests_it_cannot_do_are_refused_or_said(tiny_vace, astronaut_path, caplog):
    with pytest.raises(GenerationError, match="takes at most 4 reference photos, got 5"):
        tiny_vace("a woman nods", [astronaut_path] * 5, **RUN)
    with pytest.raises(GenerationError, match="frames"):
        tiny_vace("a woman nods", astronaut_path, **{**RUN, "num_frames": 8})
    plan = plan_generation("tiny-vace", GenerationOptions(identity_guidance_scale=2.0, negative_prompt="blur",
                                                          guidance_scale=1.0))
    assert set(plan.ignored) == {"identity_guidance_scale", "negative_prompt"}
    with caplog.at_level("WARNING", logger="idvid"):
        tiny_vace("a woman nods", astronaut_path, identity_guidance_scale=2.0, **RUN)
    assert "Wan-VACE ignores --id-guidance" in caplog.text


def test_cli_makes_a_video_and_says_what_it_ignores(capsys, caplog, tmp_path, astronaut_path):
    out = tmp_path / "vace.mp4"
    code, _, err = run_cli(capsys, "generate", "--model", "tiny-vace", "--face", astronaut_path, "--prompt",
                           "a woman waves, on a beach", "--frames", "9", "--steps", "2", "--id-guidance", "3",
                           "--out", out)
    assert code == 0, err
    assert "Wan-VACE ignores --id-guidance" in caplog.text  # the CLI prints it as a "warning: ..." line
    assert read_video(out).frames.shape == (9, 64, 64, 3)


def test_cli_refuses_more_photos_than_references_before_loading(capsys, tmp_path, astronaut_path):
    code, _, err = run_cli(capsys, "generate", "--model", "tiny-vace", *["--face", astronaut_path] * 5,
                           "--prompt", "a woman nods", "--out", tmp_path / "x.mp4")
    assert code == 1 and error_line(err) == "error: this model takes at most 4 reference photos, got 5"
    assert "loading model" not in err


def test_cli_no_face_is_one_line_before_the_model_runs(capsys, tmp_path):
    from PIL import Image

    blank = tmp_path / "wall.png"
    Image.fromarray(np.full((256, 256, 3), 128, np.uint8)).save(blank)
    code, _, err = run_cli(capsys, "generate", "--model", "tiny-vace", "--face", blank, "--prompt", "a woman nods",
                           "--out", tmp_path / "x.mp4")
    assert code == 1 and error_line(err) == f"error: no face found in {blank}"
    assert not (tmp_path / "x.mp4").exists()


def test_weights_load_from_the_environment_or_a_directory(tiny_vace, tmp_path, monkeypatch, astronaut_path):
    from diffusers import WanVACEPipeline

    hub_copy = tmp_path / "Wan2.1-VACE-1.3B-diffusers"
    WanVACEPipeline(**{k: v for k, v in tiny_vace.components.items()}).save_pretrained(hub_copy)  # as published
    monkeypatch.setenv("IDVID_MODEL_WAN2_1_VACE_1_3B", str(hub_copy))
    from_env = load_engine("wan2.1-vace-1.3b")
    assert isinstance(from_env, VacePipeline) and from_env.config.generation_defaults["height"] == 480
    assert engine_kind(str(hub_copy)) == "vace"
    from_dir = load_engine(str(hub_copy))
    from_dir.set_progress_bar_config(disable=True)
    for name in ("transformer", "vae", "text_encoder"):  # the very weights, bit for bit
        loaded, built = from_dir.components[name].state_dict(), tiny_vace.components[name].state_dict()
        assert loaded.keys() == built.keys() and all(torch.equal(loaded[k], built[k]) for k in built)
    expected = tiny_vace("a woman nods", astronaut_path, **RUN).frames.astype(int)
    # Loaded tensors sit at other memory alignments and take other SIMD paths: last bits differ.
    assert np.abs(from_dir("a woman nods", astronaut_path, **RUN).frames - expected).max() <= 2

    saved = tmp_path / "saved"
    tiny_vace.save_pretrained(saved)  # idvid's own save keeps the defaults
    assert load_engine(str(saved)).config.generation_defaults == tiny_vace.config.generation_defaults

    shutil.rmtree(hub_copy / "transformer")
    with pytest.raises(ModelFileError, match="component folder transformer/ is missing"):
        load_engine("wan2.1-vace-1.3b")


def test_the_identity_adapter_attaches_to_the_vace_transformer(tiny_vace):
    from idvid.models.injection import IdentityInjector

    transformer = tiny_vace.transformer
    adapter = IdentityInjector.for_transformer(transformer, identity_dim=8, inner_dim=16, num_heads=2)
    injection = adapter.register(transformer)
    generator = torch.Generator().manual_seed(0)
    inputs = dict(hidden_states=torch.randn(1, 4, 3, 8, 8, generator=generator), timestep=torch.tensor([500]),
                  encoder_hidden_states=torch.randn(1, 6, 32, generator=generator),
                  control_hidden_states=torch.randn(1, transformer.config.vace_in_channels, 3, 8, 8,
                                                    generator=generator), return_dict=False)
    tokens = torch.randn(1, 4, 8, generator=generator)
    try:
        with torch.no_grad():
            bare = transformer(**inputs)[0]
            with injection.use(tokens):
                fresh = transformer(**inputs)[0]
                open_adapter(adapter)
                trained = transformer(**inputs)[0]
        assert torch.equal(fresh, bare)  # a fresh adapter is an exact no-op
        assert (trained - bare).abs().max() > 1e-3  # an opened one reaches every block's output
    finally:
        adapter.unregister(transformer)


def test_an_interrupted_call_leaves_no_cache_state_behind(astronaut_path):
    from idvid.engines import RuntimeOptions

    engine = load_engine("tiny-vace", runtime=RuntimeOptions(cache=1.0))  # replays its residuals
    engine.set_progress_bar_config(disable=True)
    cached = engine("a woman nods", astronaut_path, **RUN).frames

    def interrupt(done, total):
        if done == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        engine("a woman nods", astronaut_path, progress=interrupt, **{**RUN, "seed": 9})
    assert np.array_equal(engine("a woman nods", astronaut_path, **RUN).frames, cached)
