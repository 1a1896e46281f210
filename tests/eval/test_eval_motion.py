"""Motion amplitude, temporal flicker and face motion on constructed sequences."""

from __future__ import annotations

import numpy as np
import pytest
from eval_helpers import rotated_clip, translated_clip

from idvid.errors import VideoError
from idvid.eval import evaluate_video
from idvid.eval.flow import flow_stats

FLOW_METRICS = ["motion_amplitude", "temporal_flicker"]


@pytest.fixture(scope="module")
def translated(astronaut, astronaut_obs, eval_models):
    """step px/frame -> result for the flow metrics."""
    return {
        step: evaluate_video(translated_clip(astronaut, 6, step), astronaut_obs, "", FLOW_METRICS,
                             models=eval_models)
        for step in (2, 4)
    }


def test_translation_motion_is_proportional_to_the_shift(translated):
    slow, fast = translated[2].values["motion_amplitude"], translated[4].values["motion_amplitude"]
    assert slow > 1e-3
    assert fast / slow == pytest.approx(2.0, rel=0.3)
    # a uniform shift of k px per frame is k px of flow: k / diagonal (480 x 720 frames)
    assert slow == pytest.approx(2 / np.hypot(480, 720), rel=0.3)
    series = translated[2].series["motion"]
    assert series.frames == [0, 1, 2, 3, 4] and all(v > 0 for v in series.values)


def test_pure_translation_has_little_flicker(translated, astronaut):
    steady = translated[2].values["temporal_flicker"]
    assert steady < 0.02
    # The same shift with the brightness jumping every other frame flickers far more.
    frames = translated_clip(astronaut, 6, 2).astype(np.int16)
    frames[1::2] += 25
    stats = flow_stats(np.clip(frames, 0, 255).astype(np.uint8))
    assert stats.flicker.mean() > steady + 0.04


def test_rotation_moves(astronaut, astronaut_obs, eval_models):
    result = evaluate_video(rotated_clip(astronaut, 5, 3.0), astronaut_obs, "",
                            ["motion_amplitude", "face_motion"], models=eval_models)
    assert result.values["motion_amplitude"] > 1e-3
    # an in-plane rotation turns the mesh away from the reference and between frames
    assert result.values["face_motion_inter"] > 0.02
    assert result.values["face_motion_ref"] > 0.02


def test_still_video_has_no_motion_or_flicker():
    frames = np.random.default_rng(0).integers(0, 256, (4, 40, 60, 3), dtype=np.uint8)
    frames[:] = frames[0]
    stats = flow_stats(frames)
    assert np.all(stats.motion < 1e-6) and np.all(stats.flicker < 1e-6)
    assert stats.size == (40, 60)


def test_flow_works_at_reduced_resolution(astronaut):
    frames = translated_clip(astronaut, 3, 4, height=600, width=900)
    stats = flow_stats(frames, max_side=300)
    assert stats.size == (200, 300)
    # normalised by the diagonal, the number does not depend on the flow resolution
    assert stats.motion.mean() == pytest.approx(4 / np.hypot(600, 900), rel=0.3)


def test_a_still_photo_is_not_a_video(astronaut, astronaut_path, astronaut_obs, eval_models):
    """A photo read as a one-frame video would score as a perfect copy of itself."""
    for still in (astronaut[None], astronaut_path):
        with pytest.raises(VideoError, match="is not a video: it has 1 frame"):
            evaluate_video(still, astronaut_obs, "", FLOW_METRICS, models=eval_models)
