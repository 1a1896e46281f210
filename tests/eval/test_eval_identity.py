"""End-to-end metrics on constructed videos, with the real face models on the real photos."""

from __future__ import annotations

import json
import math
from importlib.util import find_spec

import numpy as np
import pytest
from eval_helpers import jitter_clip

from idvid.eval import EvalResult, evaluate_video, format_result
from idvid.face.observation import SAME_PERSON_THRESHOLD


@pytest.fixture(scope="module")
def repeated(astronaut, astronaut_path, eval_models) -> EvalResult:
    """The reference photo itself, 16 times: a perfect copy-paste (all default metrics)."""
    frames = np.stack([astronaut] * 16)
    return evaluate_video(frames, astronaut_path, "a woman turns her head to the left", models=eval_models, fps=8)


@pytest.fixture(scope="module")
def stranger(grace, astronaut_obs, eval_models) -> EvalResult:
    """Grace Hopper's photo as the video, the astronaut as the reference."""
    frames = np.stack([grace] * 4)
    return evaluate_video(frames, astronaut_obs, "", ["facesim", "face_detection_rate", "copy_paste"],
                          models=eval_models)


@pytest.fixture(scope="module")
def with_blanks(astronaut, astronaut_obs, eval_models) -> tuple[EvalResult, np.ndarray]:
    """10 frames, 3 of them blank (uniform grey, then noise) at known positions."""
    frames = np.stack([astronaut] * 10)
    blanks = np.array([1, 4, 8])
    frames[blanks[:2]] = 128
    frames[blanks[2]] = np.random.default_rng(0).integers(0, 256, frames.shape[1:], dtype=np.uint8)
    metrics = ["facesim", "face_detection_rate", "identity_stability", "copy_paste"]
    return evaluate_video(frames, astronaut_obs, "", metrics, models=eval_models), blanks


def test_repeated_reference_is_a_perfect_copy(repeated):
    v = repeated.values
    assert v["facesim"] >= 0.9
    assert v["facesim"] == pytest.approx(1.0, abs=1e-5)  # the same pixels give the same embedding
    assert v["face_detection_rate"] == 1.0
    assert v["copy_paste"] == 1.0
    assert v["motion_amplitude"] < 1e-3
    assert v["temporal_flicker"] < 1e-3
    assert v["face_motion_ref"] < 1e-6 and v["face_motion_inter"] < 1e-6
    assert v["pose_yaw_std"] < 1e-6 and v["pose_pitch_std"] < 1e-6
    assert v["expression_diversity"] < 1e-6
    assert v["crop_ssim"] == pytest.approx(1.0, abs=1e-9)
    assert v["facesim_min"] == pytest.approx(1.0, abs=1e-5) and v["facesim_std"] < 1e-6
    assert v["facesim_consecutive"] == pytest.approx(1.0, abs=1e-5)
    # the prompt asks for a head turn that a frozen photo does not make
    assert v["prompt_motion_match"] == 0.0
    assert repeated.info["prompt_actions"] == ["turn_left"]


def test_offline_run_skips_model_metrics_with_reasons(repeated):
    expected = {"facesim_onnx", "clipscore", "face_fid"}
    if find_spec("dlib") is None or find_spec("face_recognition_models") is None:
        expected.add("facesim_dlib")
        assert "pip install dlib-bin" in repeated.skipped["facesim_dlib"]
    assert set(repeated.skipped) == expected
    assert "CLIP" in repeated.skipped["clipscore"] and "IDVID_CLIP_PATH" in repeated.skipped["clipscore"]
    assert "fid_features" in repeated.skipped["face_fid"]
    assert "face_embedders" in repeated.skipped["facesim_onnx"]


def test_different_person_is_below_the_same_person_threshold(stranger):
    assert stranger.values["face_detection_rate"] == 1.0
    assert stranger.values["facesim"] < SAME_PERSON_THRESHOLD
    assert stranger.values["copy_paste"] == 0.0


def test_blank_frames_are_misses(with_blanks):
    result, blanks = with_blanks
    assert result.info["sampled_frames"] == list(range(10))  # fewer than 16 frames: all
    assert result.values["face_detection_rate"] == pytest.approx(7 / 10, abs=0)
    found = result.series["face_found"].values
    assert [i for i, f in enumerate(found) if f == 0.0] == blanks.tolist()
    facesim = np.array(result.series["facesim"].values)
    assert np.isnan(facesim[blanks]).all() and np.isfinite(np.delete(facesim, blanks)).all()
    # the misses do not drag the similarity down: it averages over frames with a face
    assert result.values["facesim"] == pytest.approx(1.0, abs=1e-5)
    assert result.values["copy_paste"] == 1.0


def test_sampling_picks_16_uniform_frames(astronaut, astronaut_obs, eval_models):
    frames = np.stack([astronaut] * 49)
    frames[1:48] = 0  # only the first and last frames have a face
    result = evaluate_video(frames, astronaut_obs, "", ["face_detection_rate"], models=eval_models)
    assert result.info["sampled_frames"] == np.linspace(0, 48, 16).astype(int).tolist()
    assert result.values["face_detection_rate"] == pytest.approx(2 / 16, abs=0)


def test_still_face_with_camera_shake_is_copy_paste(astronaut, astronaut_obs, eval_models):
    """The photo pasted on a 480x720 canvas with 2 px sub-pixel drift: re-detected every frame,
    so the mesh jitters, but the copy-paste flag's thresholds sit above that jitter."""
    result = evaluate_video(jitter_clip(astronaut, 8, 2.0), astronaut_obs, "", ["copy_paste", "facesim"],
                            models=eval_models)
    v = result.values
    assert v["copy_paste"] == 1.0
    assert v["facesim"] > 0.9
    assert 0 < v["pose_yaw_std"] < 1.0 and 0 < v["expression_diversity"] < 0.015


def test_result_json_and_text(repeated):
    data = json.loads(repeated.to_json())
    assert data["values"]["facesim"] == pytest.approx(repeated.values["facesim"])
    assert data["directions"]["facesim"] is True and data["directions"]["temporal_flicker"] is False
    assert data["directions"]["crop_ssim"] is None
    assert data["series"]["facesim"]["frames"] == repeated.info["sampled_frames"]
    assert data["info"]["fps"] == 8 and data["info"]["num_frames"] == 16
    back = EvalResult.from_dict(data)
    assert back.values.keys() == repeated.values.keys()
    assert all(math.isclose(back.values[k], v) or (math.isnan(v) and math.isnan(back.values[k]))
               for k, v in repeated.values.items())
    text = format_result(repeated, timings=True)
    assert "facesim" in text and "(higher is better)" in text
    assert "skipped clipscore:" in text and "prompt action turn_left: fail" in text
    assert "face_analysis" in text  # shared stages are timed apart from the metrics


def test_nan_values_become_null_in_json(with_blanks, eval_models, astronaut_obs):
    frames = np.zeros((3, 64, 64, 3), np.uint8)  # no face at all
    result = evaluate_video(frames, astronaut_obs, "", ["facesim", "identity_stability"], models=eval_models)
    assert math.isnan(result.values["facesim"])
    assert "no face found" in result.notes["facesim"]
    data = json.loads(result.to_json())
    assert data["values"]["facesim"] is None and data["values"]["facesim_consecutive"] is None
    assert "n/a" in format_result(result)


def test_facesim_dlib_when_installed(astronaut, grace, astronaut_obs, eval_models):
    pytest.importorskip("dlib")
    pytest.importorskip("face_recognition_models")
    frames = np.stack([astronaut, astronaut[:, ::-1], grace[:512]])
    result = evaluate_video(frames, astronaut_obs, "", ["facesim_dlib"], models=eval_models)
    same, mirrored, other = result.series["facesim_dlib"].values
    assert same == pytest.approx(1.0, abs=1e-5)
    assert mirrored > 0.97 > other  # dlib's descriptors share a large common part: cosines run high


def test_several_reference_photos(astronaut, grace, astronaut_path, eval_models):
    from idvid.errors import FaceError

    frames = np.stack([astronaut] * 2)
    refs = [astronaut_path, astronaut[:, ::-1].copy()]
    result = evaluate_video(frames, refs, "", ["facesim"], models=eval_models)
    assert len(result.info["references"]) == 2
    assert 0.9 < result.values["facesim"] < 1.0  # the mean of the photo and its mirror image
    with pytest.raises(FaceError, match="do not look like the same person"):
        evaluate_video(frames, [astronaut_path, grace], "", ["facesim"], models=eval_models)
