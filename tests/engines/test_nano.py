"""The nano engine end to end: real face models and renderer, a tiny random motion model."""

import numpy as np
import pytest
import torch
from diffusers import DDIMScheduler

from idvid.engines import engine_kind, load_engine
from idvid.engines.nano import NanoPipeline
from idvid.engines.nano.motion import MotionGenerator
from idvid.engines.nano.motion_dit import MotionDiT
from idvid.errors import GenerationError, ModelFileError
from idvid.face import cosine
from idvid.render.controls import NEUTRAL

FAST = dict(num_frames=5, height=256, width=256, num_inference_steps=2)


@pytest.fixture(scope="module")
def tiny_motion_dir(tmp_path_factory):
    torch.manual_seed(0)
    # An untrained model predicts the channel means: neutral controls.
    model = MotionDiT(num_frames=16, width=32, num_layers=1, num_heads=2, timestep_dim=32,
                      channel_mean=NEUTRAL.to_array().tolist())
    path = tmp_path_factory.mktemp("nano")
    MotionGenerator(model, DDIMScheduler(prediction_type="sample")).save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def nano(tiny_motion_dir):
    pipe = NanoPipeline.from_pretrained(tiny_motion_dir)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def test_engine_selection_by_directory(tiny_motion_dir, tmp_path):
    assert engine_kind(str(tiny_motion_dir)) == "nano"
    assert engine_kind("nano") == "nano" and engine_kind("tiny") == "dit"
    with pytest.raises(ModelFileError, match="not a model directory of any engine"):
        engine_kind(str(tmp_path))
    assert isinstance(load_engine(str(tiny_motion_dir)), NanoPipeline)


def test_the_person_is_the_photo(nano, analyzer, astronaut_path, astronaut_obs):
    out = nano(prompt="a woman nods on a beach", faces=[astronaut_path], seed=0, **FAST)
    assert out.frames.shape == (5, 256, 256, 3) and out.frames.dtype == np.uint8
    sims = [cosine(analyzer.analyze(frame).embedding, astronaut_obs.embedding) for frame in out.frames[::2]]
    assert min(sims) > 0.6, sims


def test_same_seed_same_video(nano, astronaut_path):
    a = nano(prompt="a person smiles", faces=[astronaut_path], seed=1, **FAST).frames
    b = nano(prompt="a person smiles", faces=[astronaut_path], seed=1, **FAST).frames
    assert np.array_equal(a, b)


def test_scene_words_change_the_background_not_the_face(nano, astronaut_path):
    red = nano(prompt="a person in front of a red wall", faces=[astronaut_path], seed=0, **FAST).frames[0]
    blue = nano(prompt="a person in front of a blue wall", faces=[astronaut_path], seed=0, **FAST).frames[0]
    corner_red, corner_blue = red[:10, :10].reshape(-1, 3).mean(0), blue[:10, :10].reshape(-1, 3).mean(0)
    assert corner_red[0] > corner_red[2] + 80 and corner_blue[2] > corner_blue[0] + 80


def test_observations_work_when_they_carry_their_photo(nano, astronaut_obs):
    out = nano(prompt="a person blinks", faces=[astronaut_obs], seed=0, **FAST)
    assert out.frames.shape[0] == 5


@pytest.mark.parametrize(
    "options, message",
    [(dict(prompt=" "), "prompt is empty"), (dict(num_frames=1), "frames must be between 2"),
     (dict(height=65), "height must be even"), (dict(width=32), "nearest valid: 64")],
)
def test_bad_options(nano, astronaut_path, options, message):
    kwargs = {**FAST, "prompt": "a person nods", **options}
    with pytest.raises(GenerationError, match=message):
        nano(faces=[astronaut_path], **kwargs)


def test_idle_prompts_sway_instead_of_freezing(nano, astronaut_obs):
    # The tiny model predicts exactly neutral controls; the sway is all that moves the head.
    track = nano.controls("a portrait of a woman", astronaut_obs.pose, num_frames=49, seed=0,
                          num_inference_steps=2)
    head = track.values[:, :3]
    assert 0.2 < head.std(axis=0).max() < 2.0  # degrees: alive, but small
    again = nano.controls("a portrait of a woman", astronaut_obs.pose, num_frames=49, seed=0, num_inference_steps=2)
    other = nano.controls("a portrait of a woman", astronaut_obs.pose, num_frames=49, seed=1, num_inference_steps=2)
    assert np.array_equal(track.values, again.values) and not np.array_equal(track.values, other.values)


def test_zero_motion_steps_are_refused_not_replaced(nano, astronaut_path):
    with pytest.raises(GenerationError, match="steps must be from 1 to 1000"):
        nano(prompt="a person nods", faces=[astronaut_path], **{**FAST, "num_inference_steps": 0})


def test_a_stream_draws_each_frame_when_read_and_equals_the_array(nano, astronaut_path):
    """Streamed to the encoder, a long video is never held whole: frame i is drawn when read."""
    calls = []
    kwargs = dict(prompt="a person smiles", faces=[astronaut_path], seed=3, **FAST)
    stream = nano(**kwargs, output_type="stream", progress=lambda done, total: calls.append(done))
    steps = FAST["num_inference_steps"]
    assert len(calls) == steps and stream.frames.shape == (5, 256, 256, 3) and len(stream.frames) == 5
    frames = iter(stream.frames)
    first = next(frames)
    assert len(calls) == steps + 1
    streamed = np.stack([first, *frames])
    assert len(calls) == steps + 5
    np.testing.assert_array_equal(streamed, nano(**kwargs).frames)
