"""FantasyID as an idvid engine, on ``tiny-fantasyid`` (random tiny models of the same classes):
the call through the API and the CLI, the face tokens reaching the blocks, and the released
folder found and read as it is laid out."""

import json
import shutil

import numpy as np
import pytest
import torch
from cli_helpers import error_line, run_cli

from idvid.engines import RuntimeOptions, engine_kind, load_engine, plan_generation
from idvid.engines.fantasyid.face_prior import mesh_box_points
from idvid.engines.fantasyid.pipeline import FantasyIDEnginePipeline
from idvid.engines.fantasyid.point_cloud import read_point_cloud, write_point_cloud
from idvid.engines.fantasyid.tiny import tiny_face_vertices, tiny_mesh
from idvid.engines.request import GenerationOptions
from idvid.errors import ConfigError, GenerationError, ModelFileError
from idvid.video import read_video

RUN = dict(num_frames=9, height=64, width=64, num_inference_steps=2, guidance_scale=3.0, seed=3)


@pytest.fixture(scope="module")
def tiny_fantasyid():
    engine = load_engine("tiny-fantasyid")
    engine.set_progress_bar_config(disable=True)
    return engine


@pytest.fixture(scope="module")
def face_ply(tmp_path_factory):
    path = tmp_path_factory.mktemp("mesh") / "face.ply"
    write_point_cloud(path, tiny_face_vertices())
    return path


def test_api_makes_a_video_from_the_face_and_its_shape(tiny_fantasyid, astronaut_path, grace_path, face_ply):
    progress = []
    one = tiny_fantasyid("a woman waves, on a beach", astronaut_path, face_mesh=face_ply,
                         progress=lambda *p: progress.append(p), **RUN)
    assert one.frames.shape == (9, 64, 64, 3) and one.frames.dtype == np.uint8 and progress == [(1, 2), (2, 2)]
    again = tiny_fantasyid("a woman waves, on a beach", astronaut_path, face_mesh=read_point_cloud(face_ply), **RUN)
    other_person = tiny_fantasyid("a woman waves, on a beach", grace_path, face_mesh=face_ply, **RUN)
    other_shape = tiny_fantasyid("a woman waves, on a beach", astronaut_path, face_mesh=tiny_face_vertices(1) * 1.3,
                                 **RUN)
    from_photo = tiny_fantasyid("a woman waves, on a beach", astronaut_path, **RUN)  # DECA and FLAME in process
    assert np.array_equal(one.frames, again.frames)  # the seed decides; a path or the points alike
    assert not np.array_equal(one.frames, from_photo.frames)
    assert not np.array_equal(one.frames, other_person.frames)  # the photo reaches the model
    assert not np.array_equal(one.frames, other_shape.frames)  # and so does the 3D shape


def test_face_attention_runs_after_every_other_block_once_per_step(tiny_fantasyid, astronaut_path, face_ply,
                                                                    monkeypatch):
    calls = []
    attention = tiny_fantasyid.transformer.layer_attention
    monkeypatch.setattr(type(attention), "forward", lambda self, h, tokens, layer, weight=None:
                        calls.append((layer, tuple(tokens.shape))) or h)
    tiny_fantasyid("a woman nods", astronaut_path, face_mesh=face_ply, **RUN)
    blocks = tiny_fantasyid.transformer.config.num_layers
    # 4 face tokens from the abstractor + 642 vertices reduced 64 times to 11, at width 128
    assert calls == [(layer, (1, 4 + 11, 128)) for layer in range(0, blocks, 2)] * RUN["num_inference_steps"]


def test_the_3d_prior_reads_each_face(tiny_fantasyid, astronaut, astronaut_obs, grace, grace_obs):
    prior = tiny_fantasyid.face_prior
    one, again = (prior.vertices(astronaut, mesh_box_points(astronaut_obs.vertices)) for _ in range(2))
    other = prior.vertices(grace, mesh_box_points(grace_obs.vertices))
    assert one.shape == (642, 3) and np.array_equal(one, again)
    assert np.abs(one - other).max() > 1e-5  # another face, another shape


def test_a_fresh_mesh_hierarchy_matches_the_tiny_models(tiny_fantasyid):
    mesh = tiny_mesh()
    assert [s.shape for s in mesh.spirals] == [(642, 9), (162, 9)]
    assert [t.shape for t in mesh.down] == [(162, 642), (42, 162)] and [t.shape for t in mesh.up] == [(642, 162),
                                                                                                      (162, 42)]
    # every spiral starts at its vertex and lists its one-ring (5 or 6 neighbours on an icosphere) next
    assert (mesh.spirals[0][:, 0] == np.arange(642)).all()
    assert all(len(set(row)) == 9 for row in mesh.spirals[0])


def test_requests_it_cannot_do_are_refused_or_said(tiny_fantasyid, astronaut_path, face_ply, caplog):
    with pytest.raises(GenerationError, match="takes one reference photo, got 2"):
        tiny_fantasyid("a woman nods", [astronaut_path] * 2, face_mesh=face_ply, **RUN)
    prior, tiny_fantasyid.face_prior = tiny_fantasyid.face_prior, None
    try:
        with pytest.raises(ConfigError, match="computes the face's 3D shape with DECA and FLAME, whose licences"):
            tiny_fantasyid("a woman nods", astronaut_path, **RUN)
    finally:
        tiny_fantasyid.face_prior = prior
    with pytest.raises(ConfigError, match="has 100 points; this model's mesh has 642"):
        tiny_fantasyid("a woman nods", astronaut_path, face_mesh=np.zeros((100, 3), np.float32), **RUN)
    with caplog.at_level("WARNING", logger="idvid"):
        tiny_fantasyid("a woman nods", astronaut_path, face_mesh=face_ply, identity_guidance_scale=2.0, **RUN)
    assert "FantasyID ignores --id-guidance" in caplog.text


def test_cli_makes_a_video(capsys, tmp_path, astronaut_path, face_ply):
    out = tmp_path / "fantasyid.mp4"
    code, _, err = run_cli(capsys, "generate", "--model", "tiny-fantasyid", "--face", astronaut_path, "--prompt",
                           "a woman waves, on a beach", "--face-mesh", face_ply, "--frames", "9", "--steps", "2",
                           "--out", out)
    assert code == 0, err
    assert read_video(out).frames.shape == (9, 64, 64, 3)


@pytest.mark.parametrize("args, message", [
    (("--face-mesh", "missing.ply"), "error: cannot read the face mesh missing.ply: No such file or directory"),
    (("--face-mesh", "points.ply"), "error: points.ply has 5 points; tiny-fantasyid's face mesh has 642 (FLAME: 5023)"),
])
def test_cli_checks_the_face_mesh_before_loading(capsys, tmp_path, monkeypatch, astronaut_path, args, message):
    monkeypatch.chdir(tmp_path)
    write_point_cloud("points.ply", np.zeros((5, 3)))
    code, _, err = run_cli(capsys, "generate", "--model", "tiny-fantasyid", "--face", astronaut_path, "--prompt",
                           "a woman nods", "--out", "x.mp4", *args)
    assert code == 1 and error_line(err) == message and "loading model" not in err


def test_other_engines_refuse_a_face_mesh(capsys, tmp_path, astronaut_path, face_ply):
    code, _, err = run_cli(capsys, "generate", "--model", "tiny-consisid", "--face", astronaut_path, "--prompt",
                           "a woman nods", "--face-mesh", face_ply, "--out", tmp_path / "x.mp4")
    assert code == 1 and error_line(err) == "error: --face-mesh is FantasyID's 3D face shape; tiny-consisid does " \
                                            "not take it"


def test_first_block_cache_applies_with_the_face_attention_inside_it(astronaut_path, face_ply):
    engine = load_engine("tiny-fantasyid", runtime=RuntimeOptions(cache=0.5))
    engine.set_progress_bar_config(disable=True)
    registry = engine.transformer.transformer_blocks[0]._diffusers_hook
    names = list(registry.hooks)
    assert names.index("idvid_identity") < len(names) - 1  # registered first: the cache wraps it
    frames = engine("a woman nods", astronaut_path, face_mesh=face_ply, **RUN).frames
    assert frames.shape == (9, 64, 64, 3) and frames.std() > 0


def published_copy(engine, folder, mesh_folder=None):
    """``engine`` laid out as the release is: ConsisID's pipeline index, the transformer in
    ``transformer_ema/`` with its config, ``face_encoder/``; the converted mesh, DECA and FLAME in
    ``face_prior/`` (or ``mesh_folder``)."""
    from diffusers import ConsisIDPipeline

    components = dict(engine.components)
    transformer = components.pop("transformer")
    ConsisIDPipeline(**components, transformer=transformer).save_pretrained(folder)
    (folder / "transformer").rename(folder / "transformer_ema")
    engine.face_encoder.save(folder / "face_encoder")
    prior = mesh_folder or folder / "face_prior"
    tiny_mesh().save(prior / "mesh_sampling.npz")
    engine.face_prior.save(prior)
    return folder


def test_the_released_layout_loads_with_every_key_used(tiny_fantasyid, tmp_path, monkeypatch, astronaut_path,
                                                        face_ply, caplog):
    release = published_copy(tiny_fantasyid, tmp_path / "FantasyID")
    assert engine_kind(str(release)) == "fantasyid"
    monkeypatch.setenv("IDVID_MODEL_FANTASYID", str(release))
    with caplog.at_level("INFO", logger="idvid"):
        loaded = load_engine("fantasyid")
    assert "FantasyID transformer_ema: 0 missing keys [], 0 unexpected keys []" in caplog.text
    assert isinstance(loaded, FantasyIDEnginePipeline) and loaded.config.generation_defaults["height"] == 480
    built, read = tiny_fantasyid.transformer.state_dict(), loaded.transformer.state_dict()
    assert built.keys() == read.keys() and all(torch.equal(built[k], read[k]) for k in built)
    loaded.set_progress_bar_config(disable=True)
    expected = tiny_fantasyid("a woman nods", astronaut_path, face_mesh=face_ply, **RUN).frames.astype(int)
    assert np.abs(loaded("a woman nods", astronaut_path, face_mesh=face_ply, **RUN).frames - expected).max() <= 2
    # the plan from configs and file headers agrees with the built model's
    options = GenerationOptions(num_frames=9, height=64, width=64, guidance_scale=3.0)
    from_files, built_plan = plan_generation(str(release), options), plan_generation("tiny-fantasyid", options)
    assert from_files.memory_bytes == pytest.approx(built_plan.memory_bytes, rel=0.01)


def test_missing_weights_mesh_or_3d_prior_are_one_line_each(tiny_fantasyid, tmp_path, monkeypatch, capsys,
                                                            astronaut_path):
    release = published_copy(tiny_fantasyid, tmp_path / "FantasyID", mesh_folder=tmp_path / "prior")
    monkeypatch.setenv("IDVID_MODEL_FANTASYID", str(release))
    with pytest.raises(ModelFileError, match=r"mesh hierarchy is missing .*idvid convert --mesh-sampling"):
        load_engine("fantasyid")
    monkeypatch.setenv("IDVID_FANTASYID_PRIOR", str(tmp_path / "prior"))
    weights = next((release / "transformer_ema").glob("*.safetensors"))
    from safetensors.torch import load_file, save_file

    state = load_file(weights)
    save_file({k: v for k, v in state.items() if not k.startswith("layer_attention.0.")}, weights)
    with pytest.raises(ModelFileError, match=r"lacks 7 of FantasyID's weights \(first: layer_attention\.0\."):
        load_engine("fantasyid")
    for name in ("deca.safetensors", "flame.safetensors"):  # the 3D prior: one line naming what to get
        (tmp_path / "prior" / name).unlink()
    code, _, err = run_cli(capsys, "generate", "--model", "fantasyid", "--face", astronaut_path, "--prompt", "a nod",
                           "--out", tmp_path / "x.mp4")
    assert code == 1 and error_line(err).startswith("error: FantasyID computes the face's 3D shape with DECA and "
                                                    "FLAME, whose licences do not allow shipping them: get "
                                                    "deca_model.tar") and "loading model" not in err
    shutil.rmtree(release / "face_encoder")
    with pytest.raises(ModelFileError, match="face encoder is incomplete"):
        load_engine("fantasyid")
    monkeypatch.delenv("IDVID_MODEL_FANTASYID")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(ModelFileError, match=r"IDVID_MODEL_FANTASYID .*acvlab/FantasyID"):
        plan_generation("fantasyid", GenerationOptions())


def test_consisid_folders_stay_consisid(tmp_path):
    from idvid.engines.fantasyid import recognizes

    folder = tmp_path / "m"
    (folder / "transformer").mkdir(parents=True)
    (folder / "model_index.json").write_text(json.dumps({"_class_name": "ConsisIDPipeline"}))
    (folder / "transformer" / "config.json").write_text(json.dumps({"cross_attn_interval": 2, "LFE_id_dim": 1280}))
    assert not recognizes(folder)
    (folder / "transformer" / "config.json").write_text(json.dumps({"cross_attn_interval": 2, "LFE_num_tokens": 32}))
    assert recognizes(folder)
