"""The engine contract: one registry line per engine, light planning, one call for every engine."""

import json
import subprocess
import sys

import pytest

from idvid.engines import ENGINES, engine_package, load_engine, plan_generation
from idvid.engines.base import Engine, EngineInputs
from idvid.engines.request import GenerationOptions
from idvid.errors import GenerationError

RUN = dict(prompt="a woman nods", num_frames=9, height=64, width=64, num_inference_steps=2, seed=0)


@pytest.mark.parametrize("kind", sorted(ENGINES))
def test_every_registered_engine_exports_the_contract(kind):
    package = engine_package(kind)
    assert callable(package.plan) and callable(package.recognizes)
    assert issubclass(package.Pipeline, EngineInputs)  # the shared request checks and face inputs


@pytest.mark.parametrize("model", ["nano", "tiny", "tiny-vace", "tiny-consisid", "tiny-fantasyid"])
def test_plans_say_what_each_ignored_option_is_ignored_for(model):
    plan = plan_generation(model, GenerationOptions(negative_prompt="blurry", identity_guidance_scale=2.0))
    assert all(isinstance(reason, str) and reason for reason in plan.ignored.values())
    if model != "tiny":  # nano, Wan-VACE, ConsisID and FantasyID have no identity guidance
        assert "identity_guidance_scale" in plan.ignored


def test_planning_a_request_loads_no_engine_library():
    code = ("import json, sys; from idvid.engines import GenerationOptions, plan_generation; "
            "plan_generation('nano', GenerationOptions(num_frames=24)); "
            "print(json.dumps(sorted(m for m in ('torch', 'diffusers', 'cv2', 'mediapipe') if m in sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(done.stdout) == []


@pytest.mark.parametrize("model", ["nano", "tiny", "tiny-vace", "tiny-consisid", "tiny-fantasyid"])
def test_every_engine_takes_the_same_call(model, astronaut_path):
    engine = load_engine(model)
    assert isinstance(engine, Engine)
    engine.set_progress_bar_config(disable=True)
    progress = []
    out = engine(faces=astronaut_path, progress=lambda done, total: progress.append((done, total)), **RUN)
    assert out.frames.shape == (9, 64, 64, 3) and out.fps > 0
    if model == "nano":  # reads the prompt word by word, so it says what it took (the DiTs read all of it)
        assert out.understood == {"actions": ["nod"], "negated": [], "scene": "the photo's own background", "light": [],
                                  "unused": []}
    assert progress and progress[-1][0] == progress[-1][1]  # the last call says all is done
    with pytest.raises(GenerationError, match="output_type must be one of"):
        engine(faces=astronaut_path, output_type="gif", **RUN)


def test_options_take_the_model_defaults_only_where_not_given():
    options = GenerationOptions(num_frames=9, fps=None)
    assert options.with_defaults({"num_frames": 49, "fps": 8}) == {"num_frames": 9, "fps": 8}
    with pytest.raises(GenerationError, match="no default for fps; pass a value"):
        options.with_defaults({"num_frames": 49, "fps": None})
