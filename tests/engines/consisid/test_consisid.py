"""ConsisID as an idvid engine, on ``tiny-consisid`` (random tiny models of the real diffusers
classes and of the face encoder's): face conditioning on real photos, the call through the API
and the CLI, and weights found and read like the published checkpoint's."""

import pickle
import shutil

import numpy as np
import pytest
import torch
from cli_helpers import error_line, run_cli

from idvid.engines import engine_kind, load_engine, plan_generation
from idvid.engines.consisid.face_encoder import EVA_FILE, FFHQ_TEMPLATE_512, PARSER_FILE
from idvid.engines.consisid.pipeline import ConsisIDEnginePipeline
from idvid.engines.request import GenerationOptions
from idvid.errors import GenerationError, ModelFileError
from idvid.video import read_video

RUN = dict(num_frames=9, height=64, width=64, num_inference_steps=2, guidance_scale=3.0, seed=3)


@pytest.fixture(scope="module")
def tiny_consisid():
    engine = load_engine("tiny-consisid")
    engine.set_progress_bar_config(disable=True)
    return engine


def test_the_face_condition_is_the_aligned_face_alone(tiny_consisid, astronaut, astronaut_obs, grace, grace_obs):
    encoder = tiny_consisid.face_encoder
    face = encoder.condition(astronaut, astronaut_obs.detection.landmarks)
    assert face.image.shape == (512, 512, 3) and face.image.dtype == np.uint8
    # the landmarks land on FFHQ's template (LMEDS fits the points it trusts; the rest within 2%)
    assert np.abs(face.landmarks - FFHQ_TEMPLATE_512).max() < 0.02 * 512
    assert face.id_cond.shape == (1, 512 + 32) and len(face.id_vit_hidden) == 5
    assert all(h.shape == (1, 1 + 16, 64) for h in face.id_vit_hidden)
    assert torch.allclose(face.id_cond[0, 512:].norm(), torch.tensor(1.0))  # EVA's part has unit length
    other = encoder.condition(grace, grace_obs.detection.landmarks)
    assert (face.id_cond - other.id_cond).abs().max() > 1e-2  # another person, another condition


def test_what_the_parser_calls_background_turns_white(tiny_consisid, astronaut, astronaut_obs, monkeypatch):
    from idvid.engines.consisid import face_encoder

    def keep_centre(parser, pixels):  # a stand-in parse: the face is the crop's centre square
        mask = torch.zeros_like(pixels[:, :1], dtype=torch.bool)
        mask[..., 128:384, 128:384] = True
        return mask

    monkeypatch.setattr(face_encoder, "face_only", keep_centre)
    face = tiny_consisid.face_encoder.condition(astronaut, astronaut_obs.detection.landmarks)
    assert (face.image[:128] == 255).all() and (face.image[:, 400:] == 255).all()
    assert face.image[128:384, 128:384].std() > 20  # the face itself keeps its colours


def test_api_makes_a_video_from_the_face(tiny_consisid, astronaut_path, grace_path, monkeypatch):
    seen = []
    original = tiny_consisid.transformer.forward

    def spy(*args, **kwargs):
        seen.append(kwargs["id_cond"].clone())
        return original(*args, **kwargs)

    monkeypatch.setattr(tiny_consisid.transformer, "forward", spy)
    progress = []
    one = tiny_consisid("a woman waves, on a beach", astronaut_path, progress=lambda *p: progress.append(p), **RUN)
    assert one.frames.shape == (9, 64, 64, 3) and one.frames.dtype == np.uint8 and one.fps == 8
    assert progress == [(1, 2), (2, 2)]
    again = tiny_consisid("a woman waves, on a beach", astronaut_path, **RUN)
    other = tiny_consisid("a woman waves, on a beach", grace_path, **RUN)
    assert np.array_equal(one.frames, again.frames)  # the seed decides
    assert not np.array_equal(one.frames, other.frames)  # the person reaches the model
    assert len(seen) == 3 * 2 and (seen[0] - seen[-1]).abs().max() > 1e-2  # every step gets the face


def test_requests_it_cannot_do_are_refused_or_said(tiny_consisid, astronaut_path, caplog):
    with pytest.raises(GenerationError, match="takes one reference photo, got 2"):
        tiny_consisid("a woman nods", [astronaut_path] * 2, **RUN)
    with pytest.raises(GenerationError, match="frames"):
        tiny_consisid("a woman nods", astronaut_path, **{**RUN, "num_frames": 8})
    plan = plan_generation("tiny-consisid", GenerationOptions(identity_guidance_scale=2.0, negative_prompt="blur",
                                                              guidance_scale=1.0))
    assert set(plan.ignored) == {"identity_guidance_scale", "negative_prompt"}
    with caplog.at_level("WARNING", logger="idvid"):
        tiny_consisid("a woman nods", astronaut_path, identity_guidance_scale=2.0, **RUN)
    assert "ConsisID ignores --id-guidance" in caplog.text


def test_cli_makes_a_video(capsys, tmp_path, astronaut_path):
    out = tmp_path / "consisid.mp4"
    code, _, err = run_cli(capsys, "generate", "--model", "tiny-consisid", "--face", astronaut_path, "--prompt",
                           "a woman waves, on a beach", "--frames", "9", "--steps", "2", "--out", out)
    assert code == 0, err
    assert read_video(out).frames.shape == (9, 64, 64, 3)


def test_cli_refuses_a_second_photo_before_loading(capsys, tmp_path, astronaut_path, grace_path):
    code, _, err = run_cli(capsys, "generate", "--model", "tiny-consisid", "--face", astronaut_path,
                           "--face", grace_path, "--prompt", "a woman nods", "--out", tmp_path / "x.mp4")
    assert code == 1 and error_line(err) == "error: this model takes one reference photo, got 2"
    assert "loading model" not in err


def published_copy(engine, folder):
    """``engine`` saved as the published checkpoint is laid out: diffusers' ConsisIDPipeline
    folders plus face_encoder/ with its pickled state dicts and the ONNX graph."""
    from diffusers import ConsisIDPipeline

    ConsisIDPipeline(**engine.components).save_pretrained(folder)
    engine.face_encoder.save(folder / "face_encoder")
    return folder


def test_weights_load_from_the_environment_or_a_directory(tiny_consisid, tmp_path, monkeypatch, astronaut_path):
    hub_copy = published_copy(tiny_consisid, tmp_path / "ConsisID-preview")
    monkeypatch.setenv("IDVID_MODEL_CONSISID", str(hub_copy))
    from_env = load_engine("consisid")
    assert isinstance(from_env, ConsisIDEnginePipeline) and from_env.config.generation_defaults["height"] == 480
    assert engine_kind(str(hub_copy)) == "consisid"
    from_dir = load_engine(str(hub_copy))
    from_dir.set_progress_bar_config(disable=True)
    pairs = [(from_dir.components[n], tiny_consisid.components[n]) for n in ("transformer", "vae", "text_encoder")]
    pairs += [(from_dir.face_encoder.parser, tiny_consisid.face_encoder.parser),
              (from_dir.face_encoder.eva, tiny_consisid.face_encoder.eva)]
    for loaded, built in pairs:  # the very weights, bit for bit
        loaded, built = loaded.state_dict(), built.state_dict()
        assert loaded.keys() == built.keys() and all(torch.equal(loaded[k], built[k]) for k in built)
    expected = tiny_consisid("a woman nods", astronaut_path, **RUN).frames.astype(int)
    # Loaded tensors sit at other memory alignments and take other SIMD paths: last bits differ.
    assert np.abs(from_dir("a woman nods", astronaut_path, **RUN).frames - expected).max() <= 2

    saved = tmp_path / "saved"
    tiny_consisid.save_pretrained(saved)  # idvid's own save keeps the defaults
    assert load_engine(str(saved)).config.generation_defaults == tiny_consisid.config.generation_defaults


def test_missing_or_unsafe_face_encoder_files_are_one_line(tiny_consisid, tmp_path, monkeypatch):
    hub_copy = published_copy(tiny_consisid, tmp_path / "ConsisID-preview")
    monkeypatch.setenv("IDVID_MODEL_CONSISID", str(hub_copy))

    class Payload:  # what a malicious pickle would run on load
        def __reduce__(self):
            return (shutil.rmtree, (str(hub_copy),))

    (hub_copy / "face_encoder" / PARSER_FILE).write_bytes(pickle.dumps({"conv.weight": Payload()}))
    with pytest.raises(ModelFileError, match=f"cannot read .*{PARSER_FILE}"):
        load_engine("consisid")
    assert hub_copy.is_dir()  # nothing ran

    (hub_copy / "face_encoder" / EVA_FILE).unlink()
    for run in (lambda: plan_generation("consisid", GenerationOptions()), lambda: load_engine("consisid")):
        with pytest.raises(ModelFileError, match=f"face encoder is incomplete: .*{EVA_FILE} is missing"):
            run()
    monkeypatch.delenv("IDVID_MODEL_CONSISID")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(ModelFileError, match=r"IDVID_MODEL_CONSISID .*BestWishYsh/ConsisID-preview"):
        plan_generation("consisid", GenerationOptions())


def test_the_plan_reads_the_same_model_three_ways(tiny_consisid, tmp_path):
    from idvid.engines.consisid.face_encoder import face_encoder_bytes

    hub_copy = published_copy(tiny_consisid, tmp_path / "copy")
    options = GenerationOptions(num_frames=9, height=64, width=64, guidance_scale=3.0)
    # configs and file headers; meta-device modules; the loaded modules
    from_files, built = plan_generation(str(hub_copy), options), plan_generation("tiny-consisid", options)
    loaded = tiny_consisid._plan(options, "np")
    assert from_files.memory_bytes == pytest.approx(built.memory_bytes, rel=0.01)
    assert loaded.memory_bytes == pytest.approx(built.memory_bytes, rel=0.01)
    assert face_encoder_bytes(hub_copy / "face_encoder") == pytest.approx(
        tiny_consisid.face_encoder.weight_bytes(), rel=0.01)


def test_precision_and_tiling_apply_and_the_cache_is_refused_with_a_reason(astronaut_path, caplog):
    from idvid.engines import RuntimeOptions

    with caplog.at_level("WARNING", logger="idvid"):
        engine = load_engine("tiny-consisid", runtime=RuntimeOptions(dtype="bfloat16", vae_tiling=True, cache=0.1))
    assert "ConsisID ignores --cache: its face cross-attention runs between the transformer blocks" in caplog.text
    engine.set_progress_bar_config(disable=True)
    assert engine.transformer.dtype == torch.bfloat16 and engine.vae.use_tiling
    assert not getattr(engine.transformer, "_diffusers_hook", None)  # no caching hook was attached
    frames = engine(faces=astronaut_path, prompt="a woman nods", **RUN).frames
    assert frames.shape == (9, 64, 64, 3) and frames.std() > 0


def test_a_missing_onnxruntime_is_an_install_hint(monkeypatch):
    import builtins

    from idvid.engines.consisid.arcface import ArcFace
    from idvid.engines.consisid.tiny import tiny_arcface_graph

    real_import = builtins.__import__

    def without_onnxruntime(name, *args, **kwargs):
        if name == "onnxruntime":
            raise ImportError("No module named 'onnxruntime'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_onnxruntime)
    with pytest.raises(ModelFileError, match=r"needs onnxruntime and onnx: pip install 'idvid\[consisid\]'"):
        ArcFace(tiny_arcface_graph())
