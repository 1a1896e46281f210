"""Portrait: everything about one photo that the renderer needs, prepared once."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from idvid.face.observation import FaceObservation, HeadPose
from idvid.render.deform import SOURCE_FACING, visible_vertices
from idvid.render.headframe import HeadFrame


@dataclass(frozen=True)
class Portrait:
    """A photo ready to animate.

    image: (H, W, 3) uint8 RGB photo.
    observation: the face analysis (mesh (478, 3) in photo pixels, pose, embedding, ...).
    mask: (H, W) float32 soft person alpha in [0, 1] (head, hair, shoulders, body): the
        segmentation, refined on its edge by colour.
    plate: (H, W, 3) uint8 RGB background with the person removed and filled in.
    foreground: (H, W, 3) uint8 RGB person colours, background taken out of the mask edge.
    head: rigid-head facts (face axes, pivot, skull centre, size, vertex normals).
    source_visible: (478,) bool mesh vertices visible in the photo.
    """

    image: np.ndarray
    observation: FaceObservation
    mask: np.ndarray
    plate: np.ndarray
    foreground: np.ndarray
    head: HeadFrame
    source_visible: np.ndarray

    @classmethod
    def from_photo(cls, photo, analyzer=None, face_index: int | None = None) -> Portrait:
        """photo: anything :func:`idvid.face.load_photo` reads; analyzer: a FaceAnalyzer to
        reuse (a new one otherwise). Raises FaceError when no usable face is found."""
        from idvid.face import FaceAnalyzer, load_photo

        analyzer = analyzer or FaceAnalyzer()
        image = load_photo(photo, max_pixels=analyzer.max_pixels)
        observation = analyzer.analyze(image, face_index=face_index)
        return cls.from_observation(image, observation)

    @classmethod
    def from_observation(cls, image: np.ndarray, observation: FaceObservation) -> Portrait:
        """image: (H, W, 3) uint8 RGB, the photo the observation was made on."""
        from idvid.render.person import head_hull_mask, segment_person
        from idvid.render.plate import background_plate, foreground_layer

        image = np.ascontiguousarray(image, dtype=np.uint8)
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got shape {image.shape}")
        if tuple(observation.image_size) != tuple(image.shape[:2]):
            raise ValueError(
                f"the observation was made on a {observation.image_size} image, not this {image.shape[:2]} one"
            )
        vertices = np.asarray(observation.vertices, dtype=np.float32)
        segmentation, unsure = segment_person(image, vertices)
        plate = background_plate(image, segmentation)
        hull = head_hull_mask(image.shape[:2], vertices)
        mask, foreground, plate = foreground_layer(image, segmentation, plate, keep=hull, unsure=unsure)
        head = HeadFrame.from_vertices(vertices)
        visible = visible_vertices(vertices, head.normals, head.face_height, SOURCE_FACING)
        return cls(image, observation, mask, plate, foreground, head, visible)

    @property
    def vertices(self) -> np.ndarray:
        """(478, 3) float32 face mesh in photo pixels."""
        return self.observation.vertices

    @property
    def pose(self) -> HeadPose:
        return self.observation.pose

    @property
    def face_height(self) -> float:
        """Forehead top to chin, photo pixels."""
        return self.head.face_height

    @property
    def pivot(self) -> np.ndarray:
        """(3,) the point head rotations turn about, photo pixels."""
        return self.head.pivot

    @property
    def size(self) -> tuple[int, int]:
        """(H, W) of the photo."""
        return int(self.image.shape[0]), int(self.image.shape[1])
