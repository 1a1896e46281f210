"""``tiny-fantasyid``: random tiny models of FantasyID's classes, for tests and CPU smoke runs.

The same classes as the release at toy widths: :class:`FantasyIDTransformer3DModel` on the tiny
CogVideoX VAE and T5, ConsisID's tiny face encoder (FantasyID reads the face the same way), and an
icosphere hierarchy (642 -> 162 -> 42 vertices) standing in for FLAME's mesh.
"""

from __future__ import annotations

import numpy as np

from idvid.engines.consisid.tiny import ARCFACE_DIM, EVA_EMBED, EVA_WIDTH
from idvid.engines.fantasyid.mesh_sampling import LEVELS, SPIRAL_LENGTH, MeshSampling
from idvid.engines.fantasyid.safe_pickle import Sparse
from idvid.models.backbones import FAMILIES

EVA_PATCHES = 16  # the tiny EVA tower: 56 px in 14 px patches
SUBDIVISIONS = 3  # level 0 of the tiny mesh: an icosahedron subdivided three times
TINY_DECA = dict(blocks=(1, 1, 1, 1), width=8, hidden=32)


def tiny_components() -> dict:
    """The tiny CogVideoX I2V components with a ``FantasyIDTransformer3DModel`` in place of its transformer."""
    from diffusers import CogVideoXDPMScheduler

    from idvid.engines.fantasyid.transformer import FantasyIDTransformer3DModel

    components = FAMILIES["cogvideox"].tiny_components(image_to_video=True)
    cog = components.pop("transformer").config
    # token width = 2/3 of 192 = 128 = 16 x the vertex width 8, as 2048 = 16 x 128 in the release
    transformer = FantasyIDTransformer3DModel(
        num_attention_heads=4, attention_head_dim=48, in_channels=cog.in_channels, out_channels=cog.out_channels,
        time_embed_dim=cog.time_embed_dim, text_embed_dim=cog.text_embed_dim, num_layers=cog.num_layers,
        sample_width=cog.sample_width, sample_height=cog.sample_height, sample_frames=cog.sample_frames,
        max_text_seq_length=cog.max_text_seq_length, use_rotary_positional_embeddings=True,
        cross_attn_interval=2, face_dim=32, eva_dim=EVA_WIDTH,
        id_dim=ARCFACE_DIM + EVA_EMBED, eva_tokens=EVA_PATCHES, cabs_hidden=24, face_queries=4, vertex_dim=8,
        coarse_vertices=len(icosphere(SUBDIVISIONS - LEVELS)[0]), face_attention_heads=4,
        face_attention_head_dim=16,
    )
    transformer.set_mesh(tiny_mesh())
    scheduler = CogVideoXDPMScheduler.from_config(components.pop("scheduler").config)
    return dict(components, transformer=transformer, scheduler=scheduler)


def icosphere(subdivisions: int) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """(vertices, faces, parents): each subdivision keeps the coarser vertices first and appends
    edge midpoints on the unit sphere; ``parents`` are the last subdivision's midpoint edges."""
    t = (1 + 5 ** 0.5) / 2
    vertices = [np.array(v, float) / np.hypot(1, t) for v in
                [(-1, t, 0), (1, t, 0), (-1, -t, 0), (1, -t, 0), (0, -1, t), (0, 1, t), (0, -1, -t), (0, 1, -t),
                 (t, 0, -1), (t, 0, 1), (-t, 0, -1), (-t, 0, 1)]]
    faces = [(0, 11, 5), (0, 5, 1), (0, 1, 7), (0, 7, 10), (0, 10, 11), (1, 5, 9), (5, 11, 4), (11, 10, 2),
             (10, 7, 6), (7, 1, 8), (3, 9, 4), (3, 4, 2), (3, 2, 6), (3, 6, 8), (3, 8, 9), (4, 9, 5), (2, 4, 11),
             (6, 2, 10), (8, 6, 7), (9, 8, 1)]
    parents: list[tuple[int, int]] = []
    for _ in range(subdivisions):
        midpoint: dict[tuple[int, int], int] = {}
        parents = []

        def middle(a: int, b: int) -> int:
            edge = (min(a, b), max(a, b))
            if edge not in midpoint:
                point = vertices[a] + vertices[b]
                midpoint[edge] = len(vertices)
                vertices.append(point / np.linalg.norm(point))
                parents.append(edge)
            return midpoint[edge]

        finer = []
        for a, b, c in faces:
            ab, bc, ca = middle(a, b), middle(b, c), middle(c, a)
            finer += [(a, ab, ca), (b, bc, ab), (c, ca, bc), (ab, bc, ca)]
        faces = finer
    return np.array(vertices), np.array(faces, np.int64), parents


def tiny_mesh() -> MeshSampling:
    """The icosphere hierarchy: downsampling keeps the coarser vertices, upsampling averages a
    midpoint's two parents."""
    from idvid.engines.fantasyid.spirals import extract_spirals

    levels = [icosphere(SUBDIVISIONS - level) for level in range(LEVELS + 1)]
    spirals, down, up = [], [], []
    for level in range(LEVELS):
        (vertices, faces, parents), coarse = levels[level], len(levels[level + 1][0])
        spirals.append(extract_spirals(vertices, faces, SPIRAL_LENGTH))
        keep = np.arange(coarse)
        down.append(Sparse(keep, keep, np.ones(coarse, np.float32), (coarse, len(vertices))))
        pairs = np.array(parents, np.int64).reshape(-1)
        up.append(Sparse(np.concatenate([keep, np.repeat(np.arange(coarse, len(vertices)), 2)]),
                         np.concatenate([keep, pairs]),
                         np.concatenate([np.ones(coarse), np.full(len(pairs), 0.5)]).astype(np.float32),
                         (len(vertices), coarse)))
    return MeshSampling(spirals, down, up)


def tiny_face_vertices(seed: int = 0) -> np.ndarray:
    """(642, 3) points of the tiny mesh at a face's scale (FLAME's are in metres, about 0.1)."""
    rng = np.random.default_rng(seed)
    vertices = icosphere(SUBDIVISIONS)[0] * 0.1
    return (vertices + rng.normal(0, 0.002, vertices.shape)).astype(np.float32)


def tiny_face_prior():
    """A DECA-class encoder (one bottleneck per stage, 8 channels) and a FLAME-class model on the
    icosphere: five joints as FLAME's (global, neck, jaw, eyes), random blend shapes."""
    from idvid.engines.fantasyid.deca import DecaEncoder
    from idvid.engines.fantasyid.face_prior import FacePrior
    from idvid.engines.fantasyid.flame import EXPRESSION_COMPONENTS, SHAPE_COMPONENTS, Flame

    rng = np.random.default_rng(0)
    vertices, faces, _ = icosphere(SUBDIVISIONS)
    count, joints = len(vertices), 5
    regressor = rng.random((joints, count)).astype(np.float32)
    weights = np.exp(rng.normal(size=(count, joints))).astype(np.float32)
    flame = Flame({
        "v_template": (vertices * 0.1).astype(np.float32),
        "shapedirs": rng.normal(0, 1e-2, (count, 3, SHAPE_COMPONENTS + EXPRESSION_COMPONENTS)).astype(np.float32),
        "posedirs": rng.normal(0, 1e-3, ((joints - 1) * 9, count * 3)).astype(np.float32),
        "J_regressor": regressor / regressor.sum(1, keepdims=True),
        "parents": np.array([-1, 0, 1, 1, 1]),
        "lbs_weights": weights / weights.sum(1, keepdims=True),
        "faces": faces,
    })
    return FacePrior(DecaEncoder(**TINY_DECA), flame)

