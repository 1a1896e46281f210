import pytest

from idvid.errors import GenerationError
from idvid.models.backbones import VideoGeometry

GEOMETRY = VideoGeometry(temporal=4, spatial=8, spatial_multiple=16, frame_step=4)


def test_valid_sizes_pass_and_latent_frames():
    GEOMETRY.check(49, 480, 720)
    assert GEOMETRY.latent_frames(49) == 13


def test_bad_frame_count_names_nearest_valid_values():
    with pytest.raises(GenerationError, match=r"frames must be 4k\+1 \(got 48; nearest valid: 45 or 49\)"):
        GEOMETRY.check(48, 480, 720)


def test_bad_size_names_nearest_multiples():
    with pytest.raises(GenerationError, match=r"height must be a multiple of 16 \(got 250; nearest valid: 240 or 256\)"):
        GEOMETRY.check(49, 250, 256)
    with pytest.raises(GenerationError, match=r"width must be a multiple of 16 \(got 0; nearest valid: 16\)"):
        GEOMETRY.check(49, 256, 0)


def test_zero_frames_is_an_error():
    with pytest.raises(GenerationError, match="frames must be"):
        GEOMETRY.check(0, 64, 64)


def test_frame_step_wider_than_the_temporal_factor():
    cogvideox_like = VideoGeometry(temporal=4, spatial=8, spatial_multiple=16, frame_step=8)
    cogvideox_like.check(49, 480, 720)
    with pytest.raises(GenerationError, match=r"frames must be 8k\+1 \(got 45; nearest valid: 41 or 49\)"):
        cogvideox_like.check(45, 480, 720)
    assert cogvideox_like.latent_frames(49) == 13
