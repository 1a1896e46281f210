"""``idvid convert``: FantasyID's research files, turned once into plain arrays.

Every output path is checked before any input is read; each file is written whole or not at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from idvid.atomic import atomic_output, check_output
from idvid.errors import ConfigError


def convert_face_prior(out: Path, mesh_sampling: Path | None, deca: Path | None, flame: Path | None,
                       overwrite: bool = False) -> Iterator[str]:
    """Write ``mesh_sampling.npz``, ``deca.safetensors`` and ``flame.safetensors`` into ``out`` from
    whichever inputs are given; yields one line per file written."""
    from idvid.engines.fantasyid.face_prior import DECA_FILE, FLAME_FILE
    from idvid.engines.fantasyid.pipeline import MESH_SAMPLING_FILE

    jobs = [(MESH_SAMPLING_FILE, mesh_sampling, _mesh_sampling), (DECA_FILE, deca, _deca),
            (FLAME_FILE, flame, _flame)]
    jobs = [(check_output(out / name, overwrite, (Path(name).suffix,)), source, convert)
            for name, source, convert in jobs if source is not None]
    for target, source, convert in jobs:
        yield convert(source, target, overwrite)


def _mesh_sampling(source: Path, target: Path, overwrite: bool) -> str:
    from idvid.engines.fantasyid.mesh_sampling import MeshSampling

    mesh = MeshSampling.from_transform_pickle(source)
    mesh.save(target, overwrite=overwrite)
    sizes = " -> ".join(str(s.shape[0]) for s in mesh.spirals) + f" -> {mesh.down[-1].shape[0]}"
    return f"wrote {target} (mesh levels {sizes} vertices, spirals of {mesh.spirals[0].shape[1]})"


def _deca(source: Path, target: Path, overwrite: bool) -> str:
    """DECA's ``E_flame`` state dict, read with torch's tensor-only unpickler, checked against the port."""
    import torch
    from safetensors.torch import save_file

    from idvid.engines.fantasyid.deca import DecaEncoder

    if not source.is_file():
        raise ConfigError(f"{source} is not a file" if source.exists() else f"{source}: no such file")
    try:
        checkpoint = torch.load(source, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises UnpicklingError, RuntimeError or OSError by cause
        refused = re.search(r"(?:unsupported|Unsupported global:) GLOBAL ([\w.]+)", str(e))
        why = (f"it references {refused.group(1)}, and only tensors are admitted" if refused
               else "torch's tensor-only loader refused it")
        raise ConfigError(f"cannot read {source.name} as a DECA checkpoint of tensors: {why}") from None
    state = checkpoint.get("E_flame") if isinstance(checkpoint, dict) else None
    if state is None:
        raise ConfigError(f"{source.name} is not DECA's deca_model.tar: it has no E_flame encoder")
    with torch.device("meta"):
        expected = DecaEncoder().state_dict()
    missing, unexpected = expected.keys() - state.keys(), state.keys() - expected.keys()
    if missing or unexpected:
        raise ConfigError(f"{source.name}'s encoder does not match DECA's: {len(missing)} missing, "
                          f"{len(unexpected)} unexpected keys")
    with atomic_output(target, overwrite) as tmp:
        save_file({k: v.contiguous() for k, v in state.items()}, tmp)
    return f"wrote {target} (DECA's coarse encoder, {len(state)} tensors)"


def _flame(source: Path, target: Path, overwrite: bool) -> str:
    import torch
    from safetensors.torch import save_file

    from idvid.engines.fantasyid.flame import flame_arrays
    from idvid.engines.fantasyid.safe_pickle import load_arrays

    model = load_arrays(source)
    if not isinstance(model, dict):
        raise ConfigError(f"{source.name} is not FLAME's generic_model.pkl")
    try:
        arrays = flame_arrays(model)
    except ConfigError as e:
        raise ConfigError(f"{source.name}: {e}") from None
    with atomic_output(target, overwrite) as tmp:
        save_file({k: torch.from_numpy(v) for k, v in arrays.items()}, tmp)
    return f"wrote {target} (FLAME: {len(arrays['v_template'])} vertices, {len(arrays['parents'])} joints)"
