"""Render controls read back from face meshes: the inverse of what the renderer does to one.

Every measure is relative to a *reference* mesh (a clip's first frame with a face), which plays
the photo's part: the renderer moves a photo's head by controls relative to the photo, and these
functions say which controls move the reference mesh to each frame's mesh. Meshes are MediaPipe's
478 points in frame pixels, z on x's scale (:class:`idvid.face.FaceObservation`).

- **Rotation**: the frame's yaw, pitch and roll (:func:`idvid.face.pose.head_pose`) minus the
  reference's, which is how the renderer composes controls with the photo's pose
  (:meth:`~idvid.render.headframe.HeadFrame.relative_rotation`). Signs are therefore
  :class:`~idvid.render.controls.FrameControls`' own: yaw > 0 turns to the subject's left, pitch > 0
  raises the chin, roll > 0 is clockwise in the image.
- **Placement**: scale is the inter-ocular distance (3D, rigid, unmoved by expressions) over the
  reference's. tx, ty: the renderer rotates the head about its pivot (top of the neck, see
  :class:`~idvid.render.headframe.HeadFrame`), then scales the person about the skull centre and
  shifts by face heights; so the pivot's move, less the scaling, over the reference face height.
- **Expressions**: landmark distances (3D, over the inter-ocular distance: between mouth, lip, chin,
  nose-base and outer eye-corner points; across each lid; from each brow point to its eye's
  corners) are projected by least squares onto what the renderer's own expression model
  (:func:`idvid.render.expressions.expression_offsets`) does to them on the reference mesh at
  control 1. The values come out in the renderer's units; the reference is taken as the neutral
  face. Why distances: they do not depend on the head axes, whose few-degree errors on a turned
  head otherwise read as brow and lid motion (on ``idvid synth`` clips, distances raised the
  smile and mouth correlations from 0.75 / 0.66 to 0.79 / 0.78).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np

from idvid.errors import FaceError
from idvid.face import landmarks as lm
from idvid.face.detect import largest_face
from idvid.face.landmarks import NOSE_BASE, interocular
from idvid.face.pose import head_pose
from idvid.render.controls import CONTROL_NAMES, NEUTRAL
from idvid.render.expressions import expression_offsets
from idvid.render.headframe import HeadFrame

EXPRESSIONS = ("smile", "mouth_open", "blink", "brow_raise")  # what ExpressionBasis.measure returns, in order
DETECT_MIN_SIDE = 192  # smaller frames are upscaled (by a whole factor) before face detection
_HEAD = [CONTROL_NAMES.index(n) for n in ("yaw", "pitch", "roll", "tx", "ty", "scale")]
_EXPRESSION = [CONTROL_NAMES.index(n) for n in EXPRESSIONS]
# Mouth corners, lip centres and chin, with rigid anchors: nose base and outer eye corners.
_MOUTH_POINTS = (*lm.MOUTH_CORNERS, 0, 13, 14, 17, lm.CHIN_BOTTOM, *NOSE_BASE,
                 lm.RIGHT_EYE_CORNERS[0], lm.LEFT_EYE_CORNERS[0])
_MOUTH_PAIRS = np.array(list(combinations(_MOUTH_POINTS, 2)))
_LID_PAIRS = np.array(list(zip(lm.RIGHT_UPPER_LID + lm.LEFT_UPPER_LID, lm.RIGHT_LOWER_LID + lm.LEFT_LOWER_LID)))
_BROW_PAIRS = np.array([(b, e) for brow, eye in ((lm.RIGHT_BROW, lm.RIGHT_EYE_CORNERS),
                                                  (lm.LEFT_BROW, lm.LEFT_EYE_CORNERS))
                        for b in brow for e in eye])


def relative_rotation(reference: np.ndarray, vertices: np.ndarray) -> np.ndarray:
    """reference, vertices: (478, 3) meshes -> (3,) yaw, pitch, roll (degrees) of the second
    minus the first's (the renderer's convention, :meth:`HeadFrame.relative_rotation`)."""
    a, b = head_pose(reference), head_pose(vertices)
    roll = (b.roll - a.roll + 180.0) % 360.0 - 180.0
    return np.array([b.yaw - a.yaw, b.pitch - a.pitch, roll])


def placement(reference: HeadFrame, reference_eyes: float, frame: HeadFrame, eyes: float) -> np.ndarray:
    """(3,) tx, ty, scale of a frame relative to the reference (head frames and inter-ocular
    distances of both), in the renderer's convention (see the module docstring).

    The frame's pivot is the reference's carried along with the head (same face-frame point,
    scaled), not the frame's own :attr:`HeadFrame.pivot`: that one hangs off the chin, which
    drops when the mouth opens."""
    scale = eyes / reference_eyes
    pivot = frame.from_face(scale * reference.to_face(reference.pivot[None]))[0, :2]
    centre = reference.centre[:2]
    shift = pivot - centre - scale * (reference.pivot[:2] - centre)
    return np.array([*(shift / reference.face_height), scale])


def expression_features(vertices: np.ndarray) -> np.ndarray:
    """(478, 3) mesh -> (F,) expression features: the distances of the module docstring over the
    inter-ocular distance (F = 55 mouth + 14 lid + 40 brow)."""
    v = np.asarray(vertices, dtype=np.float64)
    pairs = np.concatenate([_MOUTH_PAIRS, _LID_PAIRS, _BROW_PAIRS])
    return np.linalg.norm(v[pairs[:, 0]] - v[pairs[:, 1]], axis=1) / interocular(v)


class ExpressionBasis:
    """What each expression control does to the reference's features, per unit (from the
    renderer's expression model); :meth:`measure` inverts it for another mesh.

    columns: (F, 5) feature change at smile, mouth_open, blink, brow_raise = +1 and brow_raise = -1.
    """

    def __init__(self, frame: HeadFrame, vertices: np.ndarray):
        v = np.asarray(vertices, dtype=np.float64)
        self.neutral = expression_features(v)
        face = frame.to_face(v)
        units = ({"smile": 1.0}, {"mouth_open": 1.0}, {"blink": 1.0}, {"brow_raise": 1.0}, {"brow_raise": -1.0})
        moved = [v + expression_offsets(frame, face, **unit) @ frame.rotation.T for unit in units]
        self.columns = np.stack([expression_features(m) - self.neutral for m in moved], axis=1)

    def measure(self, features: np.ndarray) -> np.ndarray:
        """(F,) features of a mesh -> (4,) :data:`EXPRESSIONS` values (unclipped).

        Brows raised and lowered move the brows differently: a fit with each (kept only when its
        brow value has that column's sign) and one without brows; the smallest residual wins."""
        change = features - self.neutral
        fits = []
        for columns, sign in (([0, 1, 2, 3], 1.0), ([0, 1, 2, 4], -1.0), ([0, 1, 2], 0.0)):
            basis = self.columns[:, columns]
            coefficients = np.linalg.lstsq(basis, change, rcond=None)[0]
            brow = sign * coefficients[3] if len(columns) == 4 else 0.0
            if len(columns) == 3 or coefficients[3] >= 0:  # each brow column only fits its own sign
                fits.append((float(np.sum((basis @ coefficients - change) ** 2)), [*coefficients[:3], brow]))
        return np.array(min(fits, key=lambda fit: fit[0])[1])


@dataclass(frozen=True)
class FrameMeasures:
    """What the face analysis of one clip measured (and what the cache holds).

    values: (T, 16) float32 controls per clip frame, relative to the reference frame; NaN rows
        where no face was found. reference_pose: (3,) float32 yaw, pitch, roll of the reference
        frame (degrees, absolute).
    """

    values: np.ndarray
    reference_pose: np.ndarray

    @property
    def found(self) -> np.ndarray:
        """(T,) bool: frames with a face."""
        return np.isfinite(self.values[:, 0])



def clip_meshes(frames: np.ndarray, analyzer) -> np.ndarray:
    """(T, H, W, 3) uint8 RGB frames -> (T, 478, 3) float64 meshes of each frame's largest face, in
    frame pixels; NaN where there is no face or the mesh model finds none."""
    return np.stack([frame_mesh(frame, analyzer, f"frame {i}") for i, frame in enumerate(frames)])


def frame_mesh(frame: np.ndarray, analyzer, name: str = "frame") -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (478, 3) float64 mesh of its largest face in frame pixels; NaN when
    there is no face or the mesh model finds none."""
    image, scale = _detectable(frame)
    face = largest_face(analyzer.detect(image))
    if face is not None:
        try:
            return analyzer.mesher(image, face, name) / scale
        except FaceError:
            pass
    return np.full((478, 3), np.nan)


def _detectable(frame: np.ndarray) -> tuple[np.ndarray, float]:
    """(frame, 1) or a bicubic upscale of a small frame and its factor.

    Why: training clips are small (128 px), and YuNet misses most faces under ~40 px that it
    finds once the frame is twice the size (measured on 96 px ``idvid synth`` clips: 4 of 17 -> 17)."""
    import cv2

    scale = float(np.ceil(DETECT_MIN_SIDE / min(frame.shape[:2])))
    if scale <= 1:
        return frame, 1.0
    return cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC), scale


def measure_controls(meshes: np.ndarray) -> FrameMeasures:
    """(T, 478, 3) meshes (NaN where none) -> per-frame controls relative to the first mesh
    (all NaN, reference pose 0, when there is none)."""
    values = np.full((len(meshes), len(CONTROL_NAMES)), np.nan, dtype=np.float32)
    found = np.flatnonzero(np.isfinite(meshes[:, 0, 0]))
    if not len(found):
        return FrameMeasures(values, np.zeros(3, dtype=np.float32))
    reference = meshes[found[0]]
    frame0, eyes0 = HeadFrame.from_vertices(reference), interocular(reference)
    basis = ExpressionBasis(frame0, reference)
    for i in found:
        vertices = meshes[i]
        frame = HeadFrame.from_vertices(vertices)
        row = NEUTRAL.to_array()
        row[_HEAD] = [*relative_rotation(reference, vertices), *placement(frame0, eyes0, frame, interocular(vertices))]
        row[_EXPRESSION] = basis.measure(expression_features(vertices))
        values[i] = row
    pose = head_pose(reference)
    return FrameMeasures(values, np.array([pose.yaw, pose.pitch, pose.roll], dtype=np.float32))
