"""The dense backward warp: for every output pixel, where in the photo to sample.

Controls (target position -> source position, both in stage pixels, i.e. the output frame
at neutral controls):
- face-mesh vertices visible in both photo and target (a fixed subset of ~180, with every
  eyelid and lip vertex, so eyes and mouth move exactly), plus midpoints along the lids of
  a closing eye;
- a shell of points on the hair just outside the face, turned in 3D with the head, so the
  face-hair boundary moves as one and what the turn reveals is stretched hair at the rim;
- anchors around the head, down the neck and on the frame border, moving with a tapered
  fraction of the head's 2D motion (see anchors.py).
About 250-300 controls in all. A thin-plate spline through the target->source displacements
gives a smooth field, which sampler.py turns into remap maps.

Fold-overs: a 2D warp folds when the far side of a turned head is squeezed past itself.
Vertices that turn away or hide behind the nose are dropped (deform.py), and rotations are
clipped to yaw +-35, pitch +-25, roll +-30 degrees (controls.CONTROL_RANGES), within which the
field stays one-to-one on the face.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from idvid.face import landmarks as lm
from idvid.render.anchors import BodyPose, HeadRegion, anchor_points, head_motion, head_shell
from idvid.render.deform import FACING, SOURCE_FACING
from idvid.render.tps import ThinPlateSpline

STILL_BODY = BodyPose()
MESH_SMOOTHING = 1e-7  # ~exact through the face-mesh controls
SHELL_SMOOTHING = 2e-6
ANCHOR_SMOOTHING = 2e-5  # anchors are guides: let the spline pass near them


def control_vertices() -> np.ndarray:
    """(~180,) int indices of the mesh vertices that may drive the warp: every lid, lip,
    brow and face-contour vertex, a sparser sample of the nose, cheeks, forehead and chin."""
    groups = (
        lm.FACE_OVAL,
        lm.UPPER_INNER_LIP,
        lm.LOWER_INNER_LIP,
        lm.UPPER_OUTER_LIP,
        lm.LOWER_OUTER_LIP,
        lm.RIGHT_UPPER_LID,
        lm.RIGHT_LOWER_LID,
        lm.RIGHT_EYE_CORNERS,
        lm.LEFT_UPPER_LID,
        lm.LEFT_LOWER_LID,
        lm.LEFT_EYE_CORNERS,
        lm.RIGHT_LID_CREASE,
        lm.LEFT_LID_CREASE,
        lm.RIGHT_BELOW_EYE[::2],
        lm.LEFT_BELOW_EYE[::2],
        lm.RIGHT_BROW,
        lm.LEFT_BROW,
        lm.NOSE[::2],
        lm.CHEEKS[::2],
        lm.FOREHEAD[::2],
        lm.CHIN[::2],
    )
    return np.unique(np.concatenate([np.asarray(g) for g in groups]))


CONTROL_VERTICES = control_vertices()
# Consecutive vertex pairs along each eyelid, corner to corner, per eye. Their midpoints are
# extra controls while the eye is closing: the lid lines are then a pixel apart with very
# different sources, and sparse controls along them let the spline overshoot into the eye.
LID_SEGMENTS = tuple(
    np.array([(a, b) for lid in (upper, lower) for a, b in zip((corners[0],) + lid, lid + (corners[1],))])
    for corners, upper, lower in (
        (lm.RIGHT_EYE_CORNERS, lm.RIGHT_UPPER_LID, lm.RIGHT_LOWER_LID),
        (lm.LEFT_EYE_CORNERS, lm.LEFT_UPPER_LID, lm.LEFT_LOWER_LID),
    )
)
EYE_OPENINGS = ((159, 145), (386, 374))  # mid upper lid, mid lower lid, per eye
JAW_VERTICES = np.array([152, 148, 176, 149, 150, 377, 400, 378, 379, 175, 199])  # chin and lower jaw


@dataclass(frozen=True)
class WarpRig:
    """Per-video warp facts, in stage pixels (z on the same scale, away from the camera).

    source_mesh: (478, 2) the photo's mesh; pivot, centre: (3,) head pivot and skull centre;
    region: the head ellipse; shell, shell_normals: (S, 3) hair points just outside the face
    on the head's ellipsoid and their outward normals; anchors: (K, 2) anchor source
    positions; taper, jaw_taper: (K,) how much of the head's outline motion and of the jaw's
    extra shift each anchor follows; frame_size: (H, W).
    """

    source_mesh: np.ndarray
    pivot: np.ndarray
    centre: np.ndarray
    region: HeadRegion
    shell: np.ndarray
    shell_normals: np.ndarray
    anchors: np.ndarray
    taper: np.ndarray
    jaw_taper: np.ndarray
    frame_size: tuple[int, int]

    @classmethod
    def build(
        cls,
        source_mesh: np.ndarray,
        pivot: np.ndarray,
        centre: np.ndarray,
        frame_size: tuple[int, int],
        mask: np.ndarray | None = None,
    ) -> WarpRig:
        """source_mesh: (478, 2) or (478, 3) stage pixels; pivot, centre: (3,) stage pixels;
        mask: optional (H, W) person mask on the stage (finds the top of the hair)."""
        mesh = np.asarray(source_mesh, dtype=np.float64)[:, :2]
        region = HeadRegion.from_mesh(mesh, mask)
        shell, normals = head_shell(region, float(centre[2]))
        # The shell is hair, temples and ears: points on the face itself (near any mesh
        # vertex) or around the jaw (below the mouth) would fight the mesh there.
        keep = ~_near(shell[:, :2], mesh[:468], 0.06 * region.face_height) & (shell[:, 1] < region.mouth_y)
        anchors = anchor_points(region, frame_size)
        return cls(
            mesh,
            np.asarray(pivot, dtype=np.float64),
            np.asarray(centre, dtype=np.float64),
            region,
            shell[keep],
            normals[keep],
            anchors,
            region.taper(anchors),
            region.jaw_taper(anchors),
            frame_size,
        )

    def field(
        self,
        target_mesh: np.ndarray,
        visible: np.ndarray,
        motion: np.ndarray,
        roll: float,
        rigid_mesh: np.ndarray | None = None,
        body: BodyPose = STILL_BODY,
    ) -> ThinPlateSpline:
        """The backward displacement field of one frame.

        target_mesh: (478, 2) posed mesh, stage pixels; visible: (478,) bool; motion: (3, 3)
        head rotation about the pivot; roll: its in-plane angle, degrees; rigid_mesh:
        (478, 2) the posed mesh without expressions (the neck follows the jaw's head-turn
        swing, not a dropping jaw); target_mesh if None; body: the shoulders' own motion, where
        the head's no longer reaches.
        Returns a spline mapping target positions (M, 2) -> displacements (M, 2) to their
        source positions, stage pixels.
        """
        target_mesh = np.asarray(target_mesh, dtype=np.float64)
        # 1. face-mesh controls
        index = CONTROL_VERTICES[visible[CONTROL_VERTICES]]
        segments = self._closing_lids(target_mesh, visible)
        mesh_target = np.concatenate([target_mesh[index], target_mesh[segments].mean(axis=1)])
        mesh_source = np.concatenate([self.source_mesh[index], self.source_mesh[segments].mean(axis=1)])
        # 2. the hair shell, turned in 3D; only what faces the camera before and after
        shell_target = (self.shell - self.pivot) @ motion.T + self.pivot
        facing = ((self.shell_normals @ motion.T)[:, 2] < FACING) & (self.shell_normals[:, 2] < SOURCE_FACING)
        shell_target, shell_source = shell_target[facing, :2], self.shell[facing, :2]
        # 3. anchors: the head outline's 2D motion, tapered; the neck also follows the jaw
        centre_from = self.centre[:2]
        centre_to = (motion @ (self.centre - self.pivot) + self.pivot)[:2]
        moved = head_motion(self.anchors, centre_from, centre_to, roll)
        carried = body.moved(self.anchors, self.region, self.frame_size[0])
        anchor_target = carried + self.taper[:, None] * (moved - carried)
        jaw = index[np.isin(index, JAW_VERTICES)]
        if jaw.size:
            rigid = target_mesh if rigid_mesh is None else np.asarray(rigid_mesh, dtype=np.float64)
            outline_jaw = head_motion(self.source_mesh[jaw], centre_from, centre_to, roll)
            anchor_target += self.jaw_taper[:, None] * (rigid[jaw] - outline_jaw).mean(axis=0)
        # Anchors that land on the face or the shell would fight them: those win there.
        guides = np.concatenate([mesh_target, shell_target])
        keep = ~_near(anchor_target, guides, 0.08 * self.region.face_height)
        # 4. one spline through all of them
        targets = np.concatenate([mesh_target, shell_target, anchor_target[keep]])
        sources = np.concatenate([mesh_source, shell_source, self.anchors[keep]])
        smoothing = np.concatenate(
            [
                np.full(len(mesh_target), MESH_SMOOTHING),
                np.full(len(shell_target), SHELL_SMOOTHING),
                np.full(int(keep.sum()), ANCHOR_SMOOTHING),
            ]
        )
        return ThinPlateSpline.fit(targets, sources - targets, smoothing, scale=float(max(self.frame_size)))

    def _closing_lids(self, target_mesh: np.ndarray, visible: np.ndarray) -> np.ndarray:
        """(S, 2) visible eyelid segments of the eyes that are less than 60% as open as in
        the photo (their midpoints become extra controls)."""
        chosen = [_segments_empty()]
        for segments, (upper, lower) in zip(LID_SEGMENTS, EYE_OPENINGS):
            before = np.linalg.norm(self.source_mesh[upper] - self.source_mesh[lower])
            after = np.linalg.norm(target_mesh[upper] - target_mesh[lower])
            if after < 0.6 * before:
                chosen.append(segments[visible[segments].all(axis=1)])
        return np.concatenate(chosen)


def _segments_empty() -> np.ndarray:
    return np.zeros((0, 2), dtype=np.int64)


def _near(points: np.ndarray, others: np.ndarray, distance: float) -> np.ndarray:
    """(K,) True for points (K, 2) closer than `distance` to any of others (N, 2)."""
    if len(others) == 0:
        return np.zeros(len(points), dtype=bool)
    d2 = np.min(np.sum((points[:, None, :] - others[None, :, :]) ** 2, axis=2), axis=1)
    return d2 < distance**2
