"""The metric registry, input errors, and the helpers the metrics share."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from idvid.errors import VideoError
from idvid.eval import METRICS, Metric, evaluate_video, get_metric, metric_names, register_metric
from idvid.eval.context import sample_indices
from idvid.eval.evaluate import metric_definitions
from idvid.eval.faces import motion_between, motion_from_reference, procrustes_residual, ssim_gray
from idvid.eval.models import REQUIREMENTS, EvalModels

EXPECTED = {
    "facesim": ("facesim",),
    "facesim_onnx": ("facesim_<label>",),
    "facesim_dlib": ("facesim_dlib",),
    "face_detection_rate": ("face_detection_rate",),
    "identity_stability": ("facesim_min", "facesim_std", "facesim_consecutive"),
    "copy_paste": ("pose_yaw_std", "pose_pitch_std", "expression_diversity", "crop_ssim", "copy_paste"),
    "motion_amplitude": ("motion_amplitude",),
    "face_motion": ("face_motion_ref", "face_motion_inter"),
    "temporal_flicker": ("temporal_flicker",),
    "prompt_motion": ("prompt_motion_match",),
    "scene_colour": ("scene_colour_match", "background_hue"),
    "clipscore": ("clipscore",),
    "face_fid": ("face_fid",),
}


def test_builtin_metrics_are_registered_and_documented():
    assert set(metric_names()) == set(EXPECTED)
    definitions = metric_definitions()
    for name, outputs in EXPECTED.items():
        cls = METRICS[name]
        assert cls.name == name and cls.outputs == outputs
        assert cls.higher_is_better in (True, False, None)
        assert cls.requires and cls.requires <= set(REQUIREMENTS)
        assert len(definitions[name]) > 100, f"{name} needs its exact definition in its docstring"
    assert METRICS["temporal_flicker"].direction("temporal_flicker") is False
    assert METRICS["identity_stability"].direction("facesim_std") is False
    assert METRICS["identity_stability"].direction("facesim_min") is True


def test_register_rejects_bad_metrics():
    class Nameless(Metric):
        """doc"""

    with pytest.raises(ValueError, match="lower-case"):
        register_metric(Nameless)

    class Undocumented(Metric):
        name = "undocumented_metric"

    with pytest.raises(ValueError, match="docstring"):
        register_metric(Undocumented)

    class Clash(Metric):
        """Another facesim."""

        name = "facesim"

    with pytest.raises(ValueError, match="already registered"):
        register_metric(Clash)
    with pytest.raises(ValueError, match="unknown metric 'nope'; known metrics: facesim"):
        get_metric("nope")


def test_a_custom_metric_runs_and_reports(astronaut, astronaut_obs, eval_models):
    @register_metric
    class MeanBrightness(Metric):
        """Mean pixel value of the sampled frames / 255 (a test metric)."""

        name = "test_mean_brightness"
        requires = frozenset({"opencv"})
        outputs = ("test_mean_brightness",)

        def compute(self, ctx):
            return {"test_mean_brightness": float(ctx.sampled_frames.mean() / 255)}

    try:
        frames = np.stack([astronaut] * 3)
        result = evaluate_video(frames, astronaut_obs, "", "test_mean_brightness, face_detection_rate",
                                models=eval_models)
        assert result.values["test_mean_brightness"] == pytest.approx(astronaut.mean() / 255)
        assert result.directions["test_mean_brightness"] is None
        assert "test_mean_brightness" in result.timings
    finally:
        METRICS.pop("test_mean_brightness")


def test_metric_selection_errors(astronaut, astronaut_obs, eval_models):
    frames = np.stack([astronaut] * 2)
    with pytest.raises(ValueError, match="unknown metric 'facesimm'"):
        evaluate_video(frames, astronaut_obs, "", ["facesimm"], models=eval_models)
    with pytest.raises(ValueError, match="selected twice"):
        evaluate_video(frames, astronaut_obs, "", ["facesim", "facesim"], models=eval_models)
    with pytest.raises(ValueError, match="uint8"):
        evaluate_video(frames.astype(np.float32) / 255, astronaut_obs, "", ["facesim"], models=eval_models)
    with pytest.raises(ValueError, match="unknown model requirement"):
        eval_models.unavailable("telepathy")


def test_corrupt_video_file_raises_video_error(tmp_path, astronaut_obs, eval_models):
    corrupt = tmp_path / "broken.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    with pytest.raises(VideoError, match="broken.mp4"):
        evaluate_video(corrupt, astronaut_obs, "", models=eval_models)
    with pytest.raises(VideoError, match="no such file"):
        evaluate_video(tmp_path / "missing.mp4", astronaut_obs, "", models=eval_models)
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(VideoError, match="empty"):
        evaluate_video(empty, astronaut_obs, "", models=eval_models)


def test_video_file_round_trip(tmp_path, astronaut, astronaut_obs, eval_models):
    from idvid.video import write_video

    path = write_video(np.stack([astronaut] * 4), tmp_path / "still.mp4", fps=8)
    result = evaluate_video(path, astronaut_obs, "", ["facesim", "motion_amplitude"], models=eval_models)
    assert result.info["video"] == str(path) and result.info["fps"] == pytest.approx(8)
    assert result.values["facesim"] > 0.9 and result.values["motion_amplitude"] < 1e-3


def test_reference_without_a_face_is_a_face_error(astronaut, eval_models):
    from idvid.errors import FaceError

    with pytest.raises(FaceError, match="no face"):
        evaluate_video(np.stack([astronaut] * 2), np.full((256, 256, 3), 90, np.uint8), "", ["facesim"],
                       models=eval_models)


def test_sample_indices():
    assert sample_indices(49).tolist() == [0, 3, 6, 9, 12, 16, 19, 22, 25, 28, 32, 35, 38, 41, 44, 48]
    assert sample_indices(5).tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError):
        sample_indices(0)


def test_mesh_geometry_ignores_rigid_motion():
    rng = np.random.default_rng(0)
    mesh = rng.standard_normal((478, 3)) * 50
    angle = np.radians(20)
    rotation = np.array([[np.cos(angle), 0, np.sin(angle)], [0, 1, 0], [-np.sin(angle), 0, np.cos(angle)]])
    moved = 1.7 * mesh @ rotation.T + np.array([30.0, -12.0, 4.0])
    assert procrustes_residual(moved, mesh) == pytest.approx(0.0, abs=1e-9)
    # scale and position do not count as face motion relative to the reference
    assert motion_from_reference(2.0 * mesh + 5.0, mesh) == pytest.approx(0.0, abs=1e-9)
    assert motion_from_reference(moved, mesh) > 0.1  # rotation does
    # between frames, translation counts, in inter-ocular units
    from idvid.face.landmarks import interocular

    shifted = mesh + np.array([interocular(mesh), 0.0, 0.0])
    assert motion_between(mesh, shifted) == pytest.approx(1.0)
    deformed = mesh.copy()
    deformed[:100] += rng.standard_normal((100, 3)) * 5
    assert procrustes_residual(deformed, mesh) > 0.0


def test_ssim_matches_scikit_image(astronaut):
    skimage_metrics = pytest.importorskip("skimage.metrics")
    import cv2

    a = astronaut[100:324, 150:374]
    b = cv2.GaussianBlur(a, (5, 5), 2.0)
    grey = [cv2.cvtColor(x, cv2.COLOR_RGB2GRAY) for x in (a, b)]
    expected = skimage_metrics.structural_similarity(*grey, gaussian_weights=True, sigma=1.5,
                                                     use_sample_covariance=False, data_range=255)
    assert ssim_gray(a, b) == pytest.approx(expected, abs=2e-3)
    assert ssim_gray(a, a) == pytest.approx(1.0)


def test_import_stays_light():
    code = (
        "import sys, idvid.eval; from idvid.eval import evaluate_video, ModelPaths, HeadAction; "
        "import idvid.engines.nano.head_actions, idvid.engines.nano.motion_check, idvid.eval.fid; "
        "heavy = [m for m in ('cv2', 'mediapipe', 'torch', 'transformers') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_unavailable_reasons():
    models = EvalModels()
    assert models.unavailable("opencv") is None
    assert models.unavailable("face_analyzer") is None
    assert "fid_features" in models.unavailable("fid_features")
