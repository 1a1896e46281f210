"""Reading and checking benchmark suite files (the schema: :mod:`idvid.eval.bench`).

A suite file is read by :func:`idvid.config_file.load_dataclass` into :class:`_SuiteFile`, which
holds the file as written and checks what spans entries (ids, repeats, empty lists); then
photos resolve against the file's folder, options against GenerationOptions, metrics against
the registry.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from idvid.config_file import load_dataclass, naming_file, unknown_key
from idvid.errors import ConfigError

SUITES_DIR = Path(__file__).resolve().parent
# ids of suites, faces and prompts, and tags: filename-safe, no doubled or edge separators, so
# "<face>__<prompt>__s<seed>" item ids are unique and never ambiguous.
_ID = re.compile(r"^[A-Za-z0-9]+(?:[-_.][A-Za-z0-9]+)*$")
# GenerationOptions fields a suite may not set: seeds and faces come from the suite itself.
_NOT_OPTIONS = ("seed", "face_index")


class SuiteError(ConfigError):
    """A benchmark suite file is missing or invalid."""


@dataclass(frozen=True)
class SuiteFace:
    """One identity: its reference photos (resolved, existing files) and which face in them."""

    id: str
    photos: tuple[Path, ...]
    face_index: int | None = None


@dataclass(frozen=True)
class SuitePrompt:
    """One prompt, as the file writes it; ``text`` with its whitespace runs made single spaces."""

    id: str
    text: str
    tags: tuple[str, ...] = ()

    def __post_init__(self):
        _check_id(self.id, "id")
        if not self.text.strip():
            raise SuiteError(f"text must be a non-empty string, got {self.text!r}")
        object.__setattr__(self, "text", " ".join(self.text.split()))  # frozen: set once, here
        for i, tag in enumerate(self.tags):
            _check_id(tag, f"tags[{i}]")
        _check_unique(self.tags, "tags", what="tag")


@dataclass(frozen=True)
class SuiteItem:
    """One video of a run: a face, a prompt and a seed. ``id`` names its files."""

    face: SuiteFace
    prompt: SuitePrompt
    seed: int

    @property
    def id(self) -> str:
        return f"{self.face.id}__{self.prompt.id}__s{self.seed}"


@dataclass(frozen=True)
class Suite:
    """A parsed, checked suite. ``options``: GenerationOptions fields (no seed, no face_index);
    ``metrics``: metric names, or None for the default set."""

    name: str
    path: Path
    faces: tuple[SuiteFace, ...]
    prompts: tuple[SuitePrompt, ...]
    seeds: tuple[int, ...]
    options: dict[str, Any]
    metrics: tuple[str, ...] | None = None
    description: str = ""

    def items(self) -> list[SuiteItem]:
        return [SuiteItem(f, p, s) for f in self.faces for p in self.prompts for s in self.seeds]

    def to_dict(self) -> dict:
        """JSON-ready description (for run.json)."""
        return {
            "name": self.name,
            "path": str(self.path),
            "description": self.description,
            "fingerprint": self.fingerprint(),
            "faces": [{"id": f.id, "photos": [str(p) for p in f.photos], "face_index": f.face_index}
                      for f in self.faces],
            "prompts": [{"id": p.id, "text": p.text, "tags": list(p.tags)} for p in self.prompts],
            "seeds": list(self.seeds),
            "options": dict(self.options),
            "metrics": None if self.metrics is None else list(self.metrics),
        }

    def fingerprint(self) -> str:
        """sha256 of everything that decides the videos and scores: photo contents (not their
        paths, so a moved checkout still resumes), face indices, prompts, seeds, options, metrics."""
        canonical = {
            "name": self.name,
            "faces": [{"id": f.id, "photos": [_sha256(p) for p in f.photos], "face_index": f.face_index}
                      for f in self.faces],
            "prompts": [[p.id, p.text, list(p.tags)] for p in self.prompts],
            "seeds": list(self.seeds),
            "options": dict(sorted(self.options.items())),
            "metrics": None if self.metrics is None else list(self.metrics),
        }
        return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


def packaged_suites() -> list[str]:
    """Names of the suites shipped with idvid (``default``, ``smoke``, ...)."""
    return sorted(p.stem for p in SUITES_DIR.glob("*.yaml"))


def suite_path(suite: str | Path) -> Path:
    """An existing suite file, or the packaged suite called ``suite``; SuiteError otherwise."""
    path = Path(suite).expanduser()
    if path.is_file():
        return path.resolve()
    if isinstance(suite, str) and suite in packaged_suites():
        return SUITES_DIR / f"{suite}.yaml"
    if path.is_dir():
        raise SuiteError(f"suite {path} is a directory; give a .yaml file")
    raise SuiteError(f"suite file not found: {path} (packaged suites: {', '.join(packaged_suites())})")


def load_suite(suite: str | Path) -> Suite:
    """Read and check a suite: a YAML path or a packaged suite name.

    Raises SuiteError (one line, naming the file and the bad entry) for a missing or
    unreadable file, invalid YAML, unknown keys, wrong types, empty lists, repeated ids,
    unknown options or metrics, and photos that do not exist.
    """
    path = suite_path(suite)
    entries = load_dataclass(_SuiteFile, path, "suite", SuiteError)
    with naming_file(path, SuiteError):
        faces = tuple(face.resolve(path, f"faces[{i}]") for i, face in enumerate(entries.faces))
        return Suite(entries.name, path, faces, entries.prompts, entries.seeds, _options(entries.options),
                     _metrics(entries.metrics), entries.description or "")


# ---- the file as written ------------------------------------------------------------------------


@dataclass(frozen=True)
class _FaceEntry:
    id: str
    photos: tuple[str, ...]
    face_index: int | None = None

    def __post_init__(self):
        _check_id(self.id, "id")
        _check_not_empty(self.photos, "photos")
        if self.face_index is not None and self.face_index < 0:
            raise SuiteError(f"face_index must be an integer >= 0, got {self.face_index!r}")

    def resolve(self, suite_file: Path, where: str) -> SuiteFace:
        photos = tuple(_photo(p, suite_file, f"{where}.photos[{i}]") for i, p in enumerate(self.photos))
        return SuiteFace(self.id, photos, self.face_index)


@dataclass(frozen=True)
class _SuiteFile:
    name: str
    faces: tuple[_FaceEntry, ...]
    prompts: tuple[SuitePrompt, ...]
    seeds: tuple[int, ...]
    description: str | None = None
    options: dict[str, Any] | None = None  # checked against GenerationOptions, see _options
    metrics: tuple[str, ...] | None = None  # None: the default set

    def __post_init__(self):
        _check_id(self.name, "name")
        for key in ("faces", "prompts", "seeds"):
            _check_not_empty(getattr(self, key), key)
        _check_unique([f.id for f in self.faces], "faces")
        _check_unique([p.id for p in self.prompts], "prompts")
        for i, seed in enumerate(self.seeds):
            if seed < 0:
                raise SuiteError(f"seeds[{i}] must be an integer >= 0, got {seed!r}")
        _check_unique(self.seeds, "seeds", what="seed")
        if self.metrics is not None:
            _check_not_empty(self.metrics, "metrics")


def _check_id(value: str, key: str) -> None:
    if not _ID.match(value):
        raise SuiteError(f"{key} must be an id of letters, digits and single - _ . separators, got {value!r}")


def _check_not_empty(values, key: str) -> None:
    if not values:
        raise SuiteError(f"{key} is empty; give at least one")


def _check_unique(values, key: str, what: str = "id") -> None:
    seen = set()
    for value in values:
        if value in seen:
            raise SuiteError(f"{key}: {what} {value!r} appears twice")
        seen.add(value)


# ---- what the file refers to --------------------------------------------------------------------


def _photo(value: str, suite_file: Path, where: str) -> Path:
    """``assets:NAME``: the project's sample photos; ``package:REL``: relative to the installed
    ``idvid`` package; an absolute path; else relative to the suite file's folder."""
    if not value.strip():
        raise SuiteError(f"{where} must be a non-empty path, got {value!r}")
    package = SUITES_DIR.parents[1]  # .../idvid
    if value.startswith("assets:"):
        name = value[len("assets:"):]
        # installed: idvid/assets/ (package data); a source checkout: <repo>/assets/
        candidates = [package / "assets" / name, package.parents[1] / "assets" / name]
    elif value.startswith("package:"):
        candidates = [package / value[len("package:"):]]
    else:
        raw = Path(value).expanduser()
        candidates = [raw if raw.is_absolute() else suite_file.parent / raw]
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    tried = " or ".join(str(c) for c in candidates)
    raise SuiteError(f"{where}: photo {value!r} not found (looked for {tried})")


def _option_types() -> dict[str, type]:
    """GenerationOptions field -> int, float or str, read from its annotations (so new fields
    the engines grow are accepted without touching this file)."""
    from idvid.engines import GenerationOptions

    types = {}
    for f in dataclasses.fields(GenerationOptions):
        if f.name in _NOT_OPTIONS:
            continue
        annotation = str(f.type)
        types[f.name] = int if "int" in annotation else float if "float" in annotation else str
    return types


def _options(value: dict[str, Any] | None) -> dict[str, Any]:
    if value is None:
        return {}
    types = _option_types()
    options = {}
    for key, item in value.items():
        if key in _NOT_OPTIONS:
            raise SuiteError(f"options: {key} is set by the suite ({'seeds' if key == 'seed' else 'faces'}),"
                             " not by options")
        if key not in types:
            raise SuiteError(unknown_key(key, types, "options"))
        kind = types[key]
        if kind is int and not (_is_int(item) and item > 0):
            raise SuiteError(f"options.{key} must be a positive integer, got {item!r}")
        if kind is float and not (isinstance(item, (int, float)) and not isinstance(item, bool) and item >= 0):
            raise SuiteError(f"options.{key} must be a number >= 0, got {item!r}")
        if kind is str and not isinstance(item, str):
            raise SuiteError(f"options.{key} must be a string, got {item!r}")
        options[key] = float(item) if kind is float else item
    return options


def _metrics(names: tuple[str, ...] | None) -> tuple[str, ...] | None:
    if names is None:
        return None
    from idvid.eval.registry import resolve_metrics

    try:
        resolve_metrics(names)
    except ValueError as err:
        raise SuiteError(f"metrics: {err}") from None
    return names


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


__all__ = ["Suite", "SuiteError", "SuiteFace", "SuiteItem", "SuitePrompt", "load_suite", "packaged_suites",
           "suite_path"]
