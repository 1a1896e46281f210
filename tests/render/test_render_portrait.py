"""Portrait preparation on a real photo: mask, plate, foreground layer, head geometry."""

import numpy as np
import pytest

from idvid.errors import FaceError
from idvid.face.landmarks import FACE_OVAL, NOSE_TIP
from idvid.render import Portrait


def test_layers_have_the_photo_shape(astronaut_portrait, astronaut_image):
    p = astronaut_portrait
    h, w = astronaut_image.shape[:2]
    assert p.mask.shape == (h, w) and p.mask.dtype == np.float32
    assert 0.0 <= p.mask.min() and p.mask.max() <= 1.0
    assert p.plate.shape == p.foreground.shape == (h, w, 3)
    assert p.plate.dtype == p.foreground.dtype == np.uint8
    assert p.source_visible.shape == (478,) and p.source_visible[:468].mean() > 0.9


def test_mask_holds_the_head_and_not_the_corners(astronaut_portrait):
    p = astronaut_portrait
    xy = np.round(p.vertices[:, :2]).astype(int)
    assert p.mask[xy[:, 1], xy[:, 0]].min() > 0.95  # the whole face mesh is person
    top = p.vertices[10]  # above the forehead: hair
    assert p.mask[int(top[1] - 0.1 * p.face_height), int(top[0])] > 0.9
    assert p.mask[:20, 380:].mean() < 0.05  # the shuttle backdrop at the top right is not


def test_plate_removes_the_person(astronaut_portrait):
    p = astronaut_portrait
    face = p.mask > 0.99
    # Inside the person the plate is a fill, not the face; outside it is the photo.
    assert np.abs(p.plate[face].astype(int) - p.image[face]).mean() > 20
    outside = p.mask < 0.01
    assert np.abs(p.plate[outside].astype(int) - p.image[outside]).max() <= 2


def test_layers_recompose_the_photo(astronaut_portrait):
    p = astronaut_portrait
    alpha = p.mask[..., None]
    recomposed = alpha * p.foreground + (1 - alpha) * p.plate
    error = np.abs(recomposed - p.image).mean(axis=-1)
    assert error.mean() < 1.5 and (error > 20).mean() < 0.01


def test_head_geometry(astronaut_portrait):
    head = astronaut_portrait.head
    v = astronaut_portrait.vertices
    assert head.pivot[2] > v[NOSE_TIP, 2] + 0.5 * head.face_width  # well behind the face
    oval = v[list(FACE_OVAL)]
    assert oval[:, 0].min() < head.pivot[0] < oval[:, 0].max()
    assert head.pivot[1] > v[NOSE_TIP, 1]  # below the nose: towards the neck
    np.testing.assert_allclose(np.linalg.norm(head.normals[:468], axis=1), 1.0, atol=1e-6)
    # Normals point out of the face: towards the camera on the nose, sideways at the contour.
    assert head.normals[NOSE_TIP, 2] < -0.8


def test_no_face_raises_face_error(face_analyzer):
    rng = np.random.default_rng(0)
    image = (rng.uniform(0, 1, (256, 256, 1)) * np.linspace(60, 200, 256)[None, :, None]).astype(np.uint8)
    with pytest.raises(FaceError):
        Portrait.from_photo(np.repeat(image, 3, axis=2), analyzer=face_analyzer)
