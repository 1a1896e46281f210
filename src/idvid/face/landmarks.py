"""Named groups of MediaPipe face-mesh vertex indices, the mesh's triangle list, and the
mesh measures built only on them (the inter-ocular distance).

Index lists follow MediaPipe's published keypoint annotations. "Right"/"left" are the
subject's own (so the right eye is on the image left in a frontal photo). Eyelid lists run
from the outer corner to the inner corner, so upper[k] and lower[k] face each other.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

# Eyelids without the corners, paired column by column (outer -> inner).
RIGHT_UPPER_LID = (246, 161, 160, 159, 158, 157, 173)
RIGHT_LOWER_LID = (7, 163, 144, 145, 153, 154, 155)
LEFT_UPPER_LID = (466, 388, 387, 386, 385, 384, 398)
LEFT_LOWER_LID = (249, 390, 373, 374, 380, 381, 382)
RIGHT_EYE_CORNERS = (33, 133)  # outer, inner
LEFT_EYE_CORNERS = (263, 362)
# The ring just above each upper lid (the lid's skin up to the crease), same order.
RIGHT_LID_CREASE = (247, 30, 29, 27, 28, 56, 190)
LEFT_LID_CREASE = (467, 260, 259, 257, 258, 286, 414)
RIGHT_BELOW_EYE = (130, 25, 110, 24, 23, 22, 26, 112, 243)
LEFT_BELOW_EYE = (359, 255, 339, 254, 253, 252, 256, 341, 463)

RIGHT_BROW = (70, 63, 105, 66, 107, 46, 53, 52, 65, 55)
LEFT_BROW = (300, 293, 334, 296, 336, 276, 283, 282, 295, 285)

# Lips: rings from the right mouth corner to the left one.
UPPER_INNER_LIP = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
LOWER_INNER_LIP = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
UPPER_OUTER_LIP = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)
LOWER_OUTER_LIP = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)
MOUTH_CORNERS = (61, 291)  # outer right, outer left
INNER_MOUTH_CORNERS = (78, 308)
# Inner-lip polygon (closed loop): upper lip right -> left, then lower lip left -> right.
INNER_LIP_LOOP = UPPER_INNER_LIP + LOWER_INNER_LIP[-2:0:-1]

FACE_OVAL = (
    10,
    338,
    297,
    332,
    284,
    251,
    389,
    356,
    454,
    323,
    361,
    288,
    397,
    365,
    379,
    378,
    400,
    377,
    152,
    148,
    176,
    149,
    150,
    136,
    172,
    58,
    132,
    93,
    234,
    127,
    162,
    21,
    54,
    103,
    67,
    109,
)  # clockwise loop in the image, from the top of the forehead
NOSE = (1, 2, 4, 5, 6, 19, 45, 48, 64, 94, 98, 115, 168, 195, 197, 220, 275, 278, 294, 327, 344, 440)
CHEEKS = (50, 280, 101, 330, 205, 425, 187, 411, 123, 352, 117, 346, 207, 427, 36, 266)
FOREHEAD = (151, 9, 108, 337, 69, 299, 104, 333, 67, 297)
CHIN = (152, 175, 199, 200, 18, 83, 313, 201, 421, 208, 428, 32, 262)

FOREHEAD_TOP = 10
CHIN_BOTTOM = 152
NOSE_TIP = 1
RIGHT_FACE_SIDE = 234  # face contour at eye level (subject's right)
LEFT_FACE_SIDE = 454
IRISES = tuple(range(468, 478))


# (subject's right, subject's left) landmark pairs on rigid parts of the face: eye corners,
# brows, nose wings, cheekbones, face contour. Mouth corners are left out (expressions).
SYMMETRIC_PAIRS = (
    (33, 263),  # outer eye corners
    (133, 362),  # inner eye corners
    (70, 300),  # brow outer
    (105, 334),  # brow middle
    (98, 327),  # nose wings
    (234, 454),  # face contour at the eyes
    (127, 356),  # temples
    (93, 323),  # cheek contour
    (132, 361),  # lower cheek contour
)
FOREHEAD_MIDLINE = (10, 151, 9, 8)  # top of the forehead down to between the brows
NOSE_BASE = (2, 164)


@lru_cache(maxsize=1)
def mesh_triangles() -> np.ndarray:
    """(854, 3) int32 triangles of the 468-point face mesh, from MediaPipe's tessellation edges.

    Why rebuild: MediaPipe ships the tessellation as an edge set; its triangles are exactly
    the 3-cliques of that edge graph (854 for the 468-point mesh).
    """
    from mediapipe.python.solutions.face_mesh_connections import FACEMESH_TESSELATION

    edges = np.array(sorted(FACEMESH_TESSELATION), dtype=np.int64)
    n = int(edges.max()) + 1
    adjacency = np.zeros((n, n), dtype=bool)
    adjacency[edges[:, 0], edges[:, 1]] = adjacency[edges[:, 1], edges[:, 0]] = True
    # For every edge (a, b), the vertices c adjacent to both close a triangle.
    common = adjacency[edges[:, 0]] & adjacency[edges[:, 1]]
    rows, third = np.nonzero(common)
    triangles = np.sort(np.stack([edges[rows, 0], edges[rows, 1], third], axis=1), axis=1)
    return np.unique(triangles, axis=0).astype(np.int32)


def interocular(vertices: np.ndarray) -> float:
    """Distance between the two eye centres (mean of each eye's corners) in mesh units (3D)."""
    v = np.asarray(vertices, dtype=np.float64)
    right = v[list(RIGHT_EYE_CORNERS)].mean(axis=0)
    left = v[list(LEFT_EYE_CORNERS)].mean(axis=0)
    return float(max(np.linalg.norm(left - right), 1e-9))
