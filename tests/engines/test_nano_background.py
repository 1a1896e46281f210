"""nano in front of the user's own background (``--background``): an image, or a video that loops,
the person relit to match it, the prompt's scene words said to be unused."""

import numpy as np
import pytest
from cli_helpers import error_line, run_cli
from PIL import Image

from idvid.render.backdrop import cover, matching_light
from idvid.video import read_video, write_video

RUN = dict(num_frames=12, height=256, width=256)
CORNER = (slice(0, 12), slice(0, 12))  # behind nobody at this framing


def flat(path, rgb, size=(90, 160)):
    Image.fromarray(np.full((*size, 3), rgb, np.uint8)).save(path)
    return path


def face_colour(frames: np.ndarray) -> np.ndarray:
    """Mean RGB of the frames' centre (the face at nano's framing)."""
    h, w = frames.shape[1:3]
    return frames[:, h // 3:h // 2, 2 * w // 5:3 * w // 5].reshape(-1, 3).mean(0)


def test_the_person_stands_in_front_of_the_image_relit_to_match(shipped_nano, tmp_path, astronaut_path, analyzer,
                                                                astronaut_obs):
    warm = shipped_nano("a woman nods on a beach", astronaut_path, background=flat(tmp_path / "w.png", (235, 150, 40)),
                        **RUN)
    cool = shipped_nano("a woman nods on a beach", astronaut_path, background=flat(tmp_path / "c.png", (20, 40, 110)),
                        **RUN)
    assert np.abs(warm.frames[:, CORNER[0], CORNER[1]].astype(int) - (235, 150, 40)).max() <= 3
    assert np.abs(cool.frames[:, CORNER[0], CORNER[1]].astype(int) - (20, 40, 110)).max() <= 3
    w, c = face_colour(warm.frames), face_colour(cool.frames)
    assert (w[0] - w[2]) > (c[0] - c[2]) + 20  # warmer on the warm backdrop
    assert w @ (0.2126, 0.7152, 0.0722) > c @ (0.2126, 0.7152, 0.0722) + 20  # and brighter than on the dark one
    for video in (warm, cool):  # relit, still her
        again = analyzer.analyze(video.frames[6])
        assert float(again.embedding @ astronaut_obs.embedding) > 0.6
    assert warm.understood["scene"] == "your background w.png"
    assert "beach (your background is the scene and sets the light)" in warm.understood["unused"]


def test_a_video_background_loops(shipped_nano, tmp_path, astronaut_path):
    # 5 frames at 10 fps, each a different grey: 0.5 s that must repeat under a 1.2 s take
    greys = np.linspace(40, 200, 5).astype(np.uint8)
    source = write_video(np.stack([np.full((64, 96, 3), g, np.uint8) for g in greys]), tmp_path / "bg.mp4", fps=10)
    out = shipped_nano("a woman nods", astronaut_path, background=source, **{**RUN, "fps": 10})
    corner = out.frames[:, CORNER[0], CORNER[1]].reshape(12, -1).mean(1)
    assert np.abs(corner[:5] - greys).max() < 6  # the video's frames in order
    assert np.abs(corner[5:10] - corner[:5]).max() < 3 and np.abs(corner[10:] - corner[:2]).max() < 3  # looped


def test_matching_light_follows_the_backdrop():
    grey = np.full((10, 20, 3), 120, np.uint8)
    assert matching_light(grey, grey).gain == pytest.approx(1.0) and matching_light(grey, grey).direction == 0
    lit_right = grey.copy()
    lit_right[:, 10:] = 220
    assert matching_light(lit_right, grey).direction > 0.3
    assert matching_light(np.zeros_like(grey), grey).gain == 0.7  # never black: a floor
    assert cover(np.zeros((90, 160, 3), np.uint8), (128, 128)).shape == (128, 128, 3)


def test_cli_background_and_its_refusals(capsys, caplog, tmp_path, astronaut_path):
    out = tmp_path / "out.mp4"
    background = flat(tmp_path / "wall.png", (200, 60, 60))
    code, stdout, err = run_cli(capsys, "generate", "--face", astronaut_path, "--prompt", "a woman nods in a forest",
                                "--background", background, "--frames", "12", "--out", out)
    assert code == 0, err
    assert "scene: your background wall.png" in stdout
    assert "forest (your background is the scene and sets the light)" in caplog.text
    assert np.abs(read_video(out).frames[0, :8, :8].astype(int) - (200, 60, 60)).max() <= 6

    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    for path, model, message in ((broken, "nano", f"{broken}"), (background, "tiny",
                                                                  "--background works with nano only; tiny draws")):
        code, _, err = run_cli(capsys, "generate", "--face", astronaut_path, "--prompt", "a woman nods",
                               "--background", path, "--model", model, "--out", tmp_path / "x.mp4")
        assert code == 1 and message in error_line(err) and "loading model" not in err
