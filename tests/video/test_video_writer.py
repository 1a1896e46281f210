"""write_video: real libx264 encodes of tiny clips, atomic output, refusals."""

import os
import stat
from fractions import Fraction

import numpy as np
import pytest
from video_helpers import smooth_clip

from idvid.errors import ConfigError, GenerationError, IdvidError
from idvid.video import read_video, write_video


def test_round_trip_count_size_fps_and_pixels(tmp_path, clip):
    out = write_video(clip, tmp_path / "clip.mp4", fps=16)
    assert out == tmp_path / "clip.mp4"
    video = read_video(out)
    assert video.frames.shape == clip.shape
    assert video.frames.dtype == np.uint8
    assert video.fps == 16.0
    error = np.abs(video.frames.astype(int) - clip.astype(int)).mean()
    assert error < 8, error


def test_same_frames_same_bytes_on_a_busy_machine(tmp_path, astronaut, cpu_burner):
    """A camera pan over a real photo: with x264's defaults these frames gave 12 different files
    in 60 encodes; every encode must now give the same bytes."""
    import cv2

    frames = np.stack([cv2.resize(astronaut[40 + 3 * t : 340 + 3 * t, 100 + 4 * t : 400 + 4 * t], (96, 96),
                                  interpolation=cv2.INTER_AREA) for t in range(17)])
    files = {write_video(frames, tmp_path / f"{i}.mp4", fps=8).read_bytes() for i in range(40)}
    assert len(files) == 1


def test_tagged_bt709_and_saturated_colours_survive(tmp_path):
    import av

    frames = np.zeros((2, 16, 16, 3), np.uint8)
    frames[:, :, :8] = (255, 0, 0)
    frames[:, :, 8:] = (0, 0, 255)
    out = write_video(frames, tmp_path / "rgb.mp4")
    with av.open(str(out)) as container:
        ctx = container.streams.video[0].codec_context
        assert (ctx.colorspace, ctx.color_primaries, ctx.color_trc) == (1, 1, 1)
    decoded = read_video(out).frames.astype(int)
    assert np.abs(decoded[:, 4:12, 1:3] - (255, 0, 0)).max() <= 6
    assert np.abs(decoded[:, 4:12, 13:15] - (0, 0, 255)).max() <= 6


@pytest.mark.parametrize("fps", [Fraction(24000, 1001), 29.97, 8])
def test_fractional_and_integer_fps(tmp_path, fps):
    out = write_video(smooth_clip(t=3), tmp_path / "f.mp4", fps=fps)
    assert read_video(out).fps == pytest.approx(float(fps), rel=1e-6)


def test_generator_input_and_progress(tmp_path, clip):
    calls = []
    write_video((f for f in clip), tmp_path / "gen.mp4", progress=lambda *a: calls.append(a))
    assert calls == [(i, None) for i in range(1, len(clip) + 1)]
    calls.clear()
    write_video(list(clip[:3]), tmp_path / "list.mp4", progress=lambda *a: calls.append(a))
    assert calls == [(1, 3), (2, 3), (3, 3)]


def test_existing_output_refused_and_untouched(tmp_path, clip):
    out = tmp_path / "taken.mp4"
    out.write_bytes(b"precious bytes")
    with pytest.raises(ConfigError, match="taken.mp4 exists; pass --overwrite"):
        write_video(clip, out)
    assert out.read_bytes() == b"precious bytes"
    assert sorted(os.listdir(tmp_path)) == ["taken.mp4"]


def test_overwrite_replaces(tmp_path, clip):
    out = tmp_path / "taken.mp4"
    out.write_bytes(b"old")
    write_video(clip[:2], out, overwrite=True)
    assert read_video(out).num_frames == 2
    assert sorted(os.listdir(tmp_path)) == ["taken.mp4"]


def test_exception_mid_iteration_leaves_nothing(tmp_path, clip):
    def frames_then_crash():
        yield from clip[:3]
        raise RuntimeError("model blew up")

    with pytest.raises(RuntimeError, match="model blew up"):
        write_video(frames_then_crash(), tmp_path / "out.mp4")
    assert os.listdir(tmp_path) == []


def test_failed_overwrite_keeps_old_file(tmp_path, clip):
    out = tmp_path / "keep.mp4"
    out.write_bytes(b"old video")

    def interrupt(done, total):
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_video(clip, out, overwrite=True, progress=interrupt)
    assert out.read_bytes() == b"old video"
    assert os.listdir(tmp_path) == ["keep.mp4"]


def test_bad_frames_leave_nothing(tmp_path, clip):
    mixed = [clip[0], clip[1][:, :-2]]
    with pytest.raises(ValueError, match="frame 1"):
        write_video(mixed, tmp_path / "mixed.mp4")
    with pytest.raises(ValueError, match="uint8"):
        write_video(clip.astype(np.float32), tmp_path / "float.mp4")
    with pytest.raises(GenerationError, match="no frames"):
        write_video(iter([]), tmp_path / "empty.mp4")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("h, w", [(15, 32), (24, 17), (9, 11), (1, 1)])
def test_odd_sizes_are_edge_padded(tmp_path, h, w):
    frames = smooth_clip(t=2, h=h, w=w)
    video = read_video(write_video(frames, tmp_path / "odd.mp4", crf=0))
    assert video.frames.shape == (2, h + h % 2, w + w % 2, 3)
    assert np.abs(video.frames[:, :h, :w].astype(int) - frames).mean() < 8


def test_non_mp4_suffix_refused(tmp_path, clip):
    for name in ("clip.gif", "clip.mkv", "clip"):
        with pytest.raises(ConfigError, match="must be a .mp4 file"):
            write_video(clip, tmp_path / name)
    assert os.listdir(tmp_path) == []


def test_missing_parents_created(tmp_path, clip):
    out = write_video(clip[:2], tmp_path / "a" / "b" / "clip.mp4")
    assert read_video(out).num_frames == 2


def test_parent_is_a_file(tmp_path, clip):
    (tmp_path / "notadir").write_text("x")
    with pytest.raises(ConfigError, match="notadir is a file, not a folder"):
        write_video(clip, tmp_path / "notadir" / "clip.mp4")


def test_directory_as_output_refused(tmp_path, clip):
    (tmp_path / "dir.mp4").mkdir()
    with pytest.raises(ConfigError, match="is a directory"):
        write_video(clip, tmp_path / "dir.mp4", overwrite=True)


BAD_OPTIONS = [{"fps": 0}, {"fps": -5}, {"fps": float("nan")}, {"crf": 52}, {"crf": 1.5}]


@pytest.mark.parametrize("kwargs", BAD_OPTIONS)
def test_bad_options(tmp_path, clip, kwargs):
    with pytest.raises(IdvidError):
        write_video(clip, tmp_path / "x.mp4", **kwargs)
    assert os.listdir(tmp_path) == []


def test_output_has_ordinary_file_permissions(tmp_path, clip):
    umask = os.umask(0o022)
    try:
        out = write_video(clip[:1], tmp_path / "perm.mp4")
    finally:
        os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
