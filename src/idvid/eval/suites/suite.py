"""Benchmark suites: the packaged YAML files and the code that reads and checks them.

The schema is documented in :mod:`idvid.eval.bench`. Packaged suites sit next to this file
(``default.yaml``, ``smoke.yaml``) with the photos they use in ``faces/`` (copies of the
repository's ``assets/`` photos, so the suites also work from an installed wheel).

    from idvid.eval.suites import load_suite
    suite = load_suite("smoke")            # a packaged name or a path to a YAML file
    for item in suite.items(): ...         # face x prompt x seed, in that nesting order
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from idvid.errors import IdvidError

SUITES_DIR = Path(__file__).resolve().parent
# ids of suites, faces and prompts, and tags: filename-safe, no doubled or edge separators, so
# "<face>__<prompt>__s<seed>" item ids are unique and never ambiguous.
_ID = re.compile(r"^[A-Za-z0-9]+(?:[-_.][A-Za-z0-9]+)*$")
_TOP_KEYS = ("name", "description", "faces", "prompts", "seeds", "options", "metrics")
_FACE_KEYS = ("id", "photos", "face_index")
_PROMPT_KEYS = ("id", "text", "tags")
# GenerationOptions fields a suite may not set: seeds and faces come from the suite itself.
_NOT_OPTIONS = ("seed", "face_index")


class SuiteError(IdvidError):
    """A benchmark suite file is missing or invalid."""


@dataclass(frozen=True)
class SuiteFace:
    """One identity: its reference photos (resolved, existing files) and which face in them."""

    id: str
    photos: tuple[Path, ...]
    face_index: int | None = None


@dataclass(frozen=True)
class SuitePrompt:
    id: str
    text: str
    tags: tuple[str, ...] = ()


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
    data = _read_yaml(path)
    where = str(path)
    _check_keys(data, _TOP_KEYS, ("name", "faces", "prompts", "seeds"), where)
    name = _ident(data["name"], f"{where}: name")
    description = data.get("description") or ""
    if not isinstance(description, str):
        raise SuiteError(f"{where}: description must be a string")
    faces = tuple(_face(entry, i, path) for i, entry in enumerate(_list(data["faces"], f"{where}: faces")))
    prompts = tuple(_prompt(entry, i, where) for i, entry in enumerate(_list(data["prompts"], f"{where}: prompts")))
    _unique([f.id for f in faces], f"{where}: faces")
    _unique([p.id for p in prompts], f"{where}: prompts")
    seeds = tuple(_seed(s, i, where) for i, s in enumerate(_list(data["seeds"], f"{where}: seeds")))
    _unique(seeds, f"{where}: seeds", what="seed")
    options = _options(data.get("options"), where)
    metrics = _metrics(data.get("metrics"), where)
    return Suite(name, path, faces, prompts, seeds, options, metrics, description)


# ---- reading and checking -------------------------------------------------------------------


def _read_yaml(path: Path) -> dict:
    try:
        import yaml
    except ImportError:  # pragma: no cover - pyyaml is in the eval extra
        raise SuiteError("reading suites needs PyYAML: pip install 'idvid[eval]'") from None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise SuiteError(f"cannot read suite {path}: {getattr(err, 'strerror', None) or err}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise SuiteError(f"{path}: invalid YAML{at}: {problem}") from None
    if not isinstance(data, dict):
        raise SuiteError(f"{path}: a suite is a YAML mapping with keys {', '.join(_TOP_KEYS)}; "
                         f"got {type(data).__name__ if data is not None else 'an empty file'}")
    return data


def _check_keys(data: dict, allowed: tuple[str, ...], required: tuple[str, ...], where: str) -> None:
    for key in data:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f" (allowed: {', '.join(allowed)})"
            raise SuiteError(f"{where}: unknown key {key!r}{hint}")
    missing = [k for k in required if k not in data]
    if missing:
        raise SuiteError(f"{where}: missing key(s) {', '.join(missing)}")


def _list(value, where: str) -> list:
    if not isinstance(value, list):
        raise SuiteError(f"{where} must be a list, got {_type(value)}")
    if not value:
        raise SuiteError(f"{where} is empty; give at least one")
    return value


def _mapping(value, where: str) -> dict:
    if not isinstance(value, dict):
        raise SuiteError(f"{where} must be a mapping, got {_type(value)}")
    return value


def _ident(value, where: str) -> str:
    if not isinstance(value, str) or not _ID.match(value):
        raise SuiteError(f"{where} must be an id of letters, digits and single - _ . separators, got {value!r}")
    return value


def _unique(values, where: str, what: str = "id") -> None:
    seen = set()
    for value in values:
        if value in seen:
            raise SuiteError(f"{where}: {what} {value!r} appears twice")
        seen.add(value)


def _face(entry, index: int, path: Path) -> SuiteFace:
    where = f"{path}: faces[{index}]"
    entry = _mapping(entry, where)
    _check_keys(entry, _FACE_KEYS, ("id", "photos"), where)
    face_id = _ident(entry["id"], f"{where}.id")
    where = f"{path}: face {face_id!r}"
    photos = tuple(_photo(p, path, where) for p in _list(entry["photos"], f"{where}: photos"))
    face_index = entry.get("face_index")
    if face_index is not None and (not _is_int(face_index) or face_index < 0):
        raise SuiteError(f"{where}: face_index must be an integer >= 0, got {face_index!r}")
    return SuiteFace(face_id, photos, face_index)


def _photo(value, suite_file: Path, where: str) -> Path:
    """``assets:NAME``: the project's sample photos; ``package:REL``: relative to the installed
    ``idvid`` package; an absolute path; else relative to the suite file's folder."""
    if not isinstance(value, str) or not value.strip():
        raise SuiteError(f"{where}: photos must be non-empty path strings, got {value!r}")
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


def _prompt(entry, index: int, where: str) -> SuitePrompt:
    at = f"{where}: prompts[{index}]"
    entry = _mapping(entry, at)
    _check_keys(entry, _PROMPT_KEYS, ("id", "text"), at)
    prompt_id = _ident(entry["id"], f"{at}.id")
    at = f"{where}: prompt {prompt_id!r}"
    text = entry["text"]
    if not isinstance(text, str) or not text.strip():
        raise SuiteError(f"{at}: text must be a non-empty string, got {text!r}")
    tags = entry.get("tags") or []
    if not isinstance(tags, list):
        raise SuiteError(f"{at}: tags must be a list, got {_type(tags)}")
    tags = tuple(_ident(t, f"{at}: tag") for t in tags)
    _unique(tags, at, what="tag")
    return SuitePrompt(prompt_id, " ".join(text.split()), tags)


def _seed(value, index: int, where: str) -> int:
    if not _is_int(value) or value < 0:
        raise SuiteError(f"{where}: seeds[{index}] must be an integer >= 0, got {value!r}")
    return int(value)


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


def _options(value, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    value = _mapping(value, f"{where}: options")
    types = _option_types()
    options = {}
    for key, item in value.items():
        if key in _NOT_OPTIONS:
            raise SuiteError(f"{where}: options: {key} is set by the suite ({'seeds' if key == 'seed' else 'faces'}),"
                             " not by options")
        if key not in types:
            _check_keys({key: item}, tuple(types), (), f"{where}: options")
        kind = types[key]
        if kind is int and not (_is_int(item) and item > 0):
            raise SuiteError(f"{where}: options: {key} must be a positive integer, got {item!r}")
        if kind is float and not (isinstance(item, (int, float)) and not isinstance(item, bool) and item >= 0):
            raise SuiteError(f"{where}: options: {key} must be a number >= 0, got {item!r}")
        if kind is str and not isinstance(item, str):
            raise SuiteError(f"{where}: options: {key} must be a string, got {item!r}")
        options[key] = float(item) if kind is float else item
    return options


def _metrics(value, where: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    names = _list(value, f"{where}: metrics")
    if not all(isinstance(n, str) for n in names):
        raise SuiteError(f"{where}: metrics must be metric names (strings)")
    from idvid.eval.registry import resolve_metrics

    try:
        resolve_metrics(names)
    except ValueError as err:
        raise SuiteError(f"{where}: metrics: {err}") from None
    return tuple(names)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _type(value) -> str:
    return "nothing" if value is None else type(value).__name__


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


__all__ = ["Suite", "SuiteError", "SuiteFace", "SuiteItem", "SuitePrompt", "load_suite", "packaged_suites",
           "suite_path"]
