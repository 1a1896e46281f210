"""Checks on a model directory before anything is loaded from it.

Loading libraries fail deep inside with long tracebacks; these checks turn the common
problems (missing pieces, pickle weights, truncated files) into one clear line.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

from idvid.errors import ConfigError, IdvidError, ModelFileError

PICKLE_SUFFIXES = {".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle"}


def read_model_index(path: Path, name: str = "model_index.json") -> dict:
    """The parsed index file (``model_index.json`` for diffusers directories) of a model directory."""
    if not path.is_dir():
        raise ModelFileError(f"model directory {path} does not exist")
    index = path / name
    if not index.is_file():
        raise ModelFileError(f"{path} is not a model directory: {name} is missing")
    try:
        return json.loads(index.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ModelFileError(f"{index} is corrupt: {err}") from None


def names_pipeline(path: Path, classes: tuple[str, ...]) -> bool:
    """Whether ``path`` holds a diffusers ``model_index.json`` whose pipeline class is one of ``classes``."""
    try:
        return json.loads((Path(path) / "model_index.json").read_text()).get("_class_name") in classes
    except (OSError, ValueError, AttributeError):
        return False


def check_model_dir(path: str | Path, index_name: str = "model_index.json", replaced: dict | None = None) -> dict:
    """Validate a model directory; return its index.

    Every entry of the index of the form ``name: [library, class]`` is a component folder, or the
    folder ``replaced`` maps it to (a release that ships ``transformer_ema/`` in place of ``transformer/``).
    Raises ModelFileError for a missing directory or component, pickle weights (refused:
    they can run arbitrary code on load), and safetensors files whose header is unreadable.
    """
    path = Path(path)
    index = read_model_index(path, index_name)
    for name, spec in index.items():
        if name.startswith("_") or not isinstance(spec, list) or spec[0] is None:
            continue
        component = path / (replaced or {}).get(name, name)
        if not component.is_dir():
            raise ModelFileError(f"{path} is incomplete: component folder {component.name}/ is missing")
        _check_component(component)
    return index


def _check_component(folder: Path) -> None:
    pickles = sorted(p.name for p in folder.iterdir() if p.suffix in PICKLE_SUFFIXES)
    if pickles:
        raise ModelFileError(
            f"refusing pickle weights {folder.name}/{pickles[0]}: they can run code when loaded; "
            "convert them to .safetensors"
        )
    for weights in folder.glob("*.safetensors"):
        _check_safetensors(weights)


def _check_safetensors(file: Path) -> None:
    from safetensors import safe_open

    # Opening reads and validates the header, including that the data covers it (truncation).
    try:
        with safe_open(str(file), framework="pt") as handle:
            empty = not list(handle.keys())
    except Exception as err:  # noqa: BLE001 - safetensors raises several types for bad files
        raise ModelFileError(f"corrupt weights file {file}: {err}") from None
    if empty:
        raise ModelFileError(f"weights file {file} holds no tensors")


@contextmanager
def model_file_errors(source):
    """Turns a loading library's exception for a broken directory into one ModelFileError line."""
    try:
        yield
    except IdvidError:
        raise
    except (OSError, ValueError, KeyError, RuntimeError) as err:
        text = str(err).strip()
        first_line = text.splitlines()[0] if text else type(err).__name__
        raise ModelFileError(f"cannot load model from {source}: {first_line}") from err


def published_source(source: str, engine: str, engine_name: str, kwargs: dict):
    """Where a published model's pipeline loads from: (its built-in preset, to build, or None;
    the directory otherwise). A preset name of ``engine`` resolves to its weights directory and
    puts its generation defaults in ``kwargs``; anything else is a directory as given."""
    from idvid.presets import PRESETS, get_preset, preset_dir

    if source not in PRESETS or Path(source).is_dir():
        return None, source
    preset = get_preset(source)
    if preset.engine != engine:
        raise ConfigError(f"{source} is a {preset.engine} model, not {engine_name}; load it with idvid.load_engine")
    if preset.builder is not None:
        return preset, source
    kwargs.setdefault("generation_defaults", preset.defaults)
    return None, str(preset_dir(preset))
