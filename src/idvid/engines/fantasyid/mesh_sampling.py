"""The FLAME mesh hierarchy FantasyID's vertex network runs on: spirals per level and the
down/up-sampling matrices between levels.

The released code reads them from a pickle (``assets/transform.pkl``) in the working directory and
computes the spirals with OpenMesh at every start. ``idvid convert --mesh-sampling`` reads that
pickle once through :mod:`.safe_pickle`, computes the spirals with :mod:`.spirals`, and writes one
``mesh_sampling.npz`` of plain arrays, which is all inference loads.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from idvid.engines.fantasyid.safe_pickle import Sparse
from idvid.errors import ConfigError

SPIRAL_LENGTH = 9  # the released network's spiral convolutions read 9 vertices
LEVELS = 2  # the released network climbs two levels: 314 -> 1256 -> 5023 vertices


@dataclass(frozen=True)
class MeshSampling:
    """spirals[l]: (V_l, 9) int64; down[l]: V_l -> V_{l+1}; up[l]: V_{l+1} -> V_l; l < LEVELS."""

    spirals: list
    down: list[Sparse]
    up: list[Sparse]

    @classmethod
    def from_transform_pickle(cls, path: str | Path, levels: int = LEVELS) -> MeshSampling:
        """The released ``transform.pkl`` (keys face, vertices, down_transform, up_transform)."""
        from idvid.engines.fantasyid.safe_pickle import load_arrays
        from idvid.engines.fantasyid.spirals import extract_spirals

        data = load_arrays(path)
        missing = {"face", "vertices", "down_transform", "up_transform"} - set(data if isinstance(data, dict) else ())
        if missing:
            raise ConfigError(f"{Path(path).name} is not a mesh-sampling file: it lacks {', '.join(sorted(missing))}")
        if len(data["face"]) <= levels:
            raise ConfigError(f"{Path(path).name} has {len(data['face'])} mesh levels; FantasyID needs {levels + 1}")
        spirals = [extract_spirals(data["vertices"][level], data["face"][level], SPIRAL_LENGTH)
                   for level in range(levels)]

        def transforms(key):
            return [Sparse(np.asarray(m.row, np.int64), np.asarray(m.col, np.int64), np.asarray(m.value, np.float32),
                           m.shape) for m in data[key][:levels]]

        return cls(spirals, transforms("down_transform"), transforms("up_transform"))

    def save(self, path: str | Path, overwrite: bool = False) -> None:
        arrays = {f"spirals_{level}": s for level, s in enumerate(self.spirals)}
        for name in ("down", "up"):
            for level, t in enumerate(getattr(self, name)):
                arrays |= {f"{name}_{level}_row": t.row, f"{name}_{level}_col": t.col,
                           f"{name}_{level}_value": t.value, f"{name}_{level}_size": np.asarray(t.shape)}
        from idvid.atomic import atomic_output

        with atomic_output(Path(path), overwrite) as tmp, open(tmp, "wb") as f:
            np.savez(f, **arrays)

    @classmethod
    def load(cls, path: str | Path) -> MeshSampling:
        with np.load(path, allow_pickle=False) as arrays:
            levels = sum(1 for key in arrays.files if key.startswith("spirals_"))

            def transforms(name):
                return [Sparse(arrays[f"{name}_{level}_row"], arrays[f"{name}_{level}_col"], arrays[f"{name}_{level}_value"],
                               tuple(int(n) for n in arrays[f"{name}_{level}_size"])) for level in range(levels)]

            return cls([arrays[f"spirals_{level}"] for level in range(levels)], transforms("down"), transforms("up"))
