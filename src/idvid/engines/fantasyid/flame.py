"""FLAME, the parametric head model FantasyID's 3D prior is made of: shape, expression and pose
codes -> 5023 vertices by blend shapes and linear blend skinning (DECA's use of it: 100 shape and
50 expression components, neck and eyes at rest).

The model's arrays come from the user's ``generic_model.pkl`` (FLAME's licence does not allow
shipping it), turned once into ``flame.safetensors`` by :func:`flame_arrays` (``idvid convert``).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from idvid.errors import ConfigError

SHAPE_COMPONENTS, EXPRESSION_COMPONENTS = 100, 50  # what DECA regresses
EXPRESSION_OFFSET = 300  # FLAME 2020 stacks 300 shape then 100 expression components
FLAME_KEYS = ("v_template", "shapedirs", "posedirs", "J_regressor", "parents", "lbs_weights", "faces")


def flame_arrays(model: dict) -> dict[str, np.ndarray]:
    """The arrays :class:`Flame` needs, from FLAME's pickle as :func:`~.safe_pickle.load_arrays` reads it."""
    from idvid.engines.fantasyid.safe_pickle import Sparse

    missing = {"f", "v_template", "shapedirs", "posedirs", "J_regressor", "kintree_table", "weights"} - set(model)
    if missing:
        raise ConfigError(f"not a FLAME model: it lacks {', '.join(sorted(missing))}")
    shapedirs = np.asarray(model["shapedirs"], np.float32)
    if shapedirs.shape[2] < EXPRESSION_OFFSET + EXPRESSION_COMPONENTS:
        raise ConfigError(f"FLAME model has {shapedirs.shape[2]} shape/expression components; DECA needs FLAME 2020's "
                          f"{EXPRESSION_OFFSET} + {EXPRESSION_COMPONENTS}")
    regressor = model["J_regressor"]
    if isinstance(regressor, Sparse):
        dense = np.zeros(regressor.shape, np.float32)
        np.add.at(dense, (regressor.row, regressor.col), regressor.value)
        regressor = dense
    posedirs = np.asarray(model["posedirs"], np.float32)
    parents = np.asarray(model["kintree_table"][0], np.int64)
    parents[0] = -1
    return {
        "v_template": np.asarray(model["v_template"], np.float32),
        "shapedirs": np.concatenate([shapedirs[:, :, :SHAPE_COMPONENTS],
                                     shapedirs[:, :, EXPRESSION_OFFSET:EXPRESSION_OFFSET + EXPRESSION_COMPONENTS]], 2),
        "posedirs": np.ascontiguousarray(posedirs.reshape(-1, posedirs.shape[-1]).T),  # (36, V * 3)
        "J_regressor": np.asarray(regressor, np.float32),
        "parents": parents,
        "lbs_weights": np.asarray(model["weights"], np.float32),
        "faces": np.asarray(model["f"], np.int64),
    }


def rodrigues(axis_angle: torch.Tensor) -> torch.Tensor:
    """(N, 3) axis-angle -> (N, 3, 3) rotations (as FLAME's code: a 1e-8 nudge keeps 0 finite)."""
    angle = torch.norm(axis_angle + 1e-8, dim=1, keepdim=True)
    rx, ry, rz = torch.split(axis_angle / angle, 1, dim=1)
    zeros = torch.zeros_like(rx)
    cross = torch.cat([zeros, -rz, ry, rz, zeros, -rx, -ry, rx, zeros], dim=1).view(-1, 3, 3)
    cos, sin = torch.cos(angle)[:, :, None], torch.sin(angle)[:, :, None]
    eye = torch.eye(3, dtype=axis_angle.dtype, device=axis_angle.device)[None]
    return eye + sin * cross + (1 - cos) * torch.bmm(cross, cross)


class Flame(nn.Module):
    """(B, 100) shape, (B, 50) expression, (B, 6) global + jaw pose -> (B, V, 3) vertices in metres."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        super().__init__()
        for name in FLAME_KEYS:
            self.register_buffer(name, torch.as_tensor(arrays[name]))
        self.num_shape = int(arrays["shapedirs"].shape[2]) - EXPRESSION_COMPONENTS

    def forward(self, shape: torch.Tensor, expression: torch.Tensor, pose: torch.Tensor) -> torch.Tensor:
        b = shape.shape[0]
        rest = pose.new_zeros(b, 3)
        # 1. Shape and expression blend shapes; joints from the shaped mesh.
        shaped = self.v_template + torch.einsum("bl,mkl->bmk", torch.cat([shape, expression], 1), self.shapedirs)
        joints = torch.einsum("bik,ji->bjk", shaped, self.J_regressor)
        # 2. Pose: global, neck (at rest), jaw, both eyes (at rest).
        full_pose = torch.cat([pose[:, :3], rest, pose[:, 3:], rest, rest], dim=1)
        rotations = rodrigues(full_pose.view(-1, 3)).view(b, -1, 3, 3)
        eye = torch.eye(3, dtype=pose.dtype, device=pose.device)
        posed = shaped + torch.matmul((rotations[:, 1:] - eye).view(b, -1), self.posedirs).view(b, -1, 3)
        # 3. Linear blend skinning with the joints' rigid transforms.
        transforms = self._rigid_transforms(rotations, joints)
        per_vertex = torch.matmul(self.lbs_weights[None].expand(b, -1, -1), transforms.view(b, -1, 16))
        homogeneous = F.pad(posed, [0, 1], value=1.0)
        return torch.matmul(per_vertex.view(b, -1, 4, 4), homogeneous[..., None])[:, :, :3, 0]

    def _rigid_transforms(self, rotations: torch.Tensor, joints: torch.Tensor) -> torch.Tensor:
        """(B, J, 4, 4) transforms relative to each joint's rest position."""
        b, j = joints.shape[:2]
        joints = joints[..., None]
        relative = joints.clone()
        relative[:, 1:] -= joints[:, self.parents[1:]]
        local = torch.cat([F.pad(rotations.reshape(-1, 3, 3), [0, 0, 0, 1]),
                           F.pad(relative.reshape(-1, 3, 1), [0, 0, 0, 1], value=1)], dim=2).view(b, j, 4, 4)
        chain = [local[:, 0]]
        for i in range(1, j):
            chain.append(torch.matmul(chain[int(self.parents[i])], local[:, i]))
        world = torch.stack(chain, dim=1)
        rest = torch.matmul(world, F.pad(joints, [0, 0, 0, 1]))
        return world - F.pad(rest, [3, 0, 0, 0, 0, 0, 0, 0])
