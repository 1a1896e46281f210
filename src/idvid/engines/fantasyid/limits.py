"""What a FantasyID model can make and what a request costs, read from configs alone.

ConsisID's memory model (CogVideoX-5B image-to-video with face modules, plus the same face
encoder); the face tokens and the vertex network's activations are a few megabytes.
"""

from __future__ import annotations

import os
from pathlib import Path

from idvid.engines.consisid.limits import ConsisIDSpec, loaded_spec
from idvid.engines.dit.limits import directory_spec, meta_components, model_spec, module_bytes, reference_plan
from idvid.engines.request import GenerationOptions, GenerationPlan
from idvid.engines.runtime import RuntimeOptions
from idvid.presets import CONSISID_DEFAULTS

MAX_PHOTOS = 1  # FantasyID conditions on one face
PRIOR_ENV = "IDVID_FANTASYID_PRIOR"  # a folder of converted 3D-prior files, instead of <model>/face_prior


def plan(model: str, options: GenerationOptions, runtime: RuntimeOptions = RuntimeOptions()) -> GenerationPlan:
    """Resolve ``options`` against ``model``'s defaults and grid; estimate its memory."""
    return plan_for_spec(fantasyid_spec(model), options, runtime)


def plan_for_spec(spec: ConsisIDSpec, options: GenerationOptions, runtime: RuntimeOptions = RuntimeOptions()
                  ) -> GenerationPlan:
    return reference_plan(spec, options, runtime, "FantasyID", MAX_PHOTOS)


def fantasyid_spec(model: str) -> ConsisIDSpec:
    """The spec of a preset name or a model directory, without loading weights."""
    return model_spec(model, _builtin_spec, _directory_spec, CONSISID_DEFAULTS)


def face_prior_dir(model_dir: Path) -> Path:
    """Where the converted 3D-prior files of a model directory are: ``$IDVID_FANTASYID_PRIOR``, else
    the model's own ``face_prior/``."""
    return Path(os.environ[PRIOR_ENV]).expanduser() if os.environ.get(PRIOR_ENV) else model_dir / "face_prior"


def transformer_folder(model_dir: Path) -> str:
    """The release ships its EMA weights in ``transformer_ema/``, the ones it runs when present."""
    return "transformer_ema" if (model_dir / "transformer_ema").is_dir() else "transformer"


def _builtin_spec(preset) -> ConsisIDSpec:
    from idvid.engines.consisid.tiny import tiny_arcface_graph, tiny_face_models
    from idvid.engines.fantasyid.tiny import tiny_components, tiny_face_prior

    components = meta_components(tiny_components)
    prior = tiny_face_prior()
    face_bytes = (module_bytes(meta_components(tiny_face_models).values()) + len(tiny_arcface_graph())
                  + module_bytes([prior.deca, prior.flame]))
    return loaded_spec(components["transformer"], components["vae"], preset.defaults, components.values(),
                       face_bytes)


def _directory_spec(path: Path, defaults: dict) -> ConsisIDSpec:
    from idvid.engines.consisid.face_encoder import face_encoder_bytes
    from idvid.engines.fantasyid.transformer import FantasyIDTransformer3DModel

    spec = directory_spec(path, defaults, FantasyIDTransformer3DModel, transformer_folder(path))
    prior = sum(f.stat().st_size for f in face_prior_dir(path).glob("*.safetensors"))  # DECA and FLAME, float32
    return ConsisIDSpec(**vars(spec), face_encoder_bytes=face_encoder_bytes(path / "face_encoder") + prior)


__all__ = ["MAX_PHOTOS", "face_prior_dir", "fantasyid_spec", "loaded_spec", "plan", "plan_for_spec"]


def _model_dir(model: str) -> Path | None:
    """The directory of a model name or path; None for a built-in preset."""
    from idvid.presets import PRESETS, get_preset, preset_dir

    if model in PRESETS and not Path(model).is_dir():
        preset = get_preset(model)
        return None if preset.repo_id is None else preset_dir(preset)
    return Path(model).expanduser()


def checked_face_mesh(model: str, path: Path | None):
    """The (V, 3) point cloud at ``path`` for FantasyID ``model``, checked before any model loads;
    None when ``path`` is None and the model has DECA and FLAME to compute it."""
    from idvid.engines.fantasyid.face_prior import NEEDS_DECA_FLAME, has_files
    from idvid.engines.fantasyid.point_cloud import read_point_cloud
    from idvid.errors import ConfigError

    folder = _model_dir(model)
    if path is None:
        if folder is not None and not has_files(face_prior_dir(folder)):
            raise ConfigError(NEEDS_DECA_FLAME.format(folder=face_prior_dir(folder)))
        return None
    vertices = read_point_cloud(path)
    expected = _mesh_vertex_count(folder)
    if len(vertices) != expected:
        raise ConfigError(f"{Path(path).name} has {len(vertices)} points; {model}'s face mesh has {expected} "
                          "(FLAME: 5023)")
    return vertices


def _mesh_vertex_count(folder: Path | None) -> int:
    if folder is None:
        from idvid.engines.fantasyid.tiny import SUBDIVISIONS, icosphere

        return len(icosphere(SUBDIVISIONS)[0])
    from idvid.engines.fantasyid.pipeline import load_mesh_sampling

    return load_mesh_sampling(folder).spirals[0].shape[0]
