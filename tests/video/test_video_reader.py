"""read_video / iter_frames: real decodes, rotation, and unreadable inputs."""

import subprocess
import sys

import numpy as np
import pytest
from video_helpers import encode_raw, quadrant_frame, smooth_clip, write_wav

from idvid.errors import VideoError
from idvid.video import VideoClip, iter_frames, read_video, write_video


def test_clip_fields(tmp_path, clip):
    video = read_video(write_video(clip, tmp_path / "c.mp4", fps=10))
    assert isinstance(video, VideoClip)
    assert (video.num_frames, video.size, video.fps) == (6, (24, 32), 10.0)
    assert video.duration == pytest.approx(0.6)


def test_max_frames(tmp_path, clip):
    out = write_video(clip, tmp_path / "c.mp4")
    assert read_video(out, max_frames=2).frames.shape == (2, 24, 32, 3)
    assert read_video(out, max_frames=100).num_frames == 6
    with pytest.raises(ValueError, match="max_frames"):
        read_video(out, max_frames=0)


def test_iter_frames_matches_read_video(tmp_path, clip):
    out = write_video(clip, tmp_path / "c.mp4")
    streamed = list(iter_frames(out))
    assert len(streamed) == 6
    np.testing.assert_array_equal(np.stack(streamed), read_video(out).frames)
    assert len(list(iter_frames(out, max_frames=4))) == 4


def test_audio_is_ignored(tmp_path, clip):
    out = tmp_path / "with_audio.mp4"
    encode_raw(out, clip, audio=True)
    video = read_video(out)
    assert video.frames.shape == clip.shape
    assert np.abs(video.frames.astype(int) - clip).mean() < 8


def test_set_display_rotation_90_is_counter_clockwise(tmp_path):
    frame = quadrant_frame()  # (16, 32): white top-left
    out = tmp_path / "ccw.mp4"
    encode_raw(out, np.stack([frame] * 2), display_rotation=90)
    video = read_video(out)
    assert video.frames.shape == (2, 32, 16, 3)
    expected = np.rot90(frame, 1)  # white block now bottom-left
    assert np.abs(video.frames[0].astype(int) - expected).mean() < 8
    assert video.frames[0, 28, 4].min() > 200 and video.frames[0, 4, 4].max() < 50


def test_phone_portrait_matrix_turns_clockwise(tmp_path):
    # The tkhd matrix a phone writes for "rotate=90": a=0, b=1, c=-1, d=0 (16.16 fixed
    # point, w = 1 in 2.30). FFmpeg's autorotate turns such frames 90 degrees clockwise.
    matrix = [0, 1 << 16, 0, -(1 << 16), 0, 0, 0, 0, 1 << 30]
    frame = quadrant_frame()
    out = tmp_path / "portrait.mp4"
    encode_raw(out, np.stack([frame] * 2), display_matrix=matrix)
    first = next(iter_frames(out))
    assert first.shape == (32, 16, 3)
    assert np.abs(first.astype(int) - np.rot90(frame, -1)).mean() < 8
    assert first[4, 12].min() > 200 and first[28, 4].max() < 50  # white top-right


def test_rotation_180(tmp_path):
    frame = quadrant_frame()
    out = tmp_path / "flip.mp4"
    encode_raw(out, np.stack([frame] * 2), display_rotation=180)
    assert np.abs(read_video(out).frames[0].astype(int) - np.rot90(frame, 2)).mean() < 8


def test_missing_file(tmp_path):
    with pytest.raises(VideoError, match="no such file"):
        read_video(tmp_path / "nope.mp4")


def test_directory(tmp_path):
    with pytest.raises(VideoError, match="not a file"):
        read_video(tmp_path)


def test_empty_file(tmp_path):
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(VideoError, match="empty.mp4 is empty"):
        read_video(tmp_path / "empty.mp4")


def test_random_bytes(tmp_path):
    bad = tmp_path / "random.mp4"
    bad.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(VideoError, match="random.mp4"):
        read_video(bad)
    with pytest.raises(VideoError):
        next(iter_frames(bad))


def test_truncated_mp4(tmp_path, clip):
    data = write_video(clip, tmp_path / "whole.mp4").read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoError, match="cut.mp4"):
        read_video(cut)


def test_audio_only_wav(tmp_path):
    wav = tmp_path / "voice.wav"
    write_wav(wav)
    with pytest.raises(VideoError, match="voice.wav has no video stream"):
        read_video(wav)


def test_errors_are_one_line(tmp_path):
    bad = tmp_path / "junk.mp4"
    bad.write_bytes(b"\x00" * 64)
    with pytest.raises(VideoError) as info:
        read_video(bad)
    assert "\n" not in str(info.value)


def test_import_is_light():
    code = "import sys, idvid.video; print('torch' in sys.modules, 'av' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_reads_odd_size_written_by_writer(tmp_path):
    frames = smooth_clip(t=2, h=7, w=9)
    assert read_video(write_video(frames, tmp_path / "o.mp4")).size == (8, 10)
