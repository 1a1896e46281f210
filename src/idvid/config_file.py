"""YAML files -> (nested) dataclasses, checked against the dataclasses' type hints.

The one reader for configuration files (training configs, benchmark suites). A schema is a
dataclass; its fields' hints say what each key holds:

    bool, int, float, str, Any, Literal[...], X | None, list[X], tuple[X, ...], dict[str, X],
    and nested dataclasses (a field without a default is a required key).

Every mistake is one :class:`ConfigError` line naming the file and the dotted key
(``train.lr must be a number, got 'abc'``; ``prompts[0]: unknown key 'tag'; did you mean
'tags'?``). Checks that span fields (ranges, cross-field rules) belong to the schema itself, in
``__post_init__``; a ConfigError raised there is prefixed with the entry's key.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, TypeVar, Union

from idvid.errors import ConfigError

T = TypeVar("T")


def load_dataclass(cls: type[T], path: str | Path, what: str, error: type[ConfigError] | None = None) -> T:
    """The YAML file at ``path`` as a ``cls``; ``what`` names the file's kind in errors ("suite").

    ``error``: the ConfigError subclass to raise (default: the one raised).
    """
    path = Path(path)
    with naming_file(path, error):
        return build(cls, _read_yaml(path, cls, what))


def _read_yaml(path: Path, cls: type, what: str) -> dict:
    """The file's top-level mapping (safe loader); ConfigError otherwise."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read it: {getattr(err, 'strerror', None) or err}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ConfigError(f"invalid YAML{at}: {problem}") from None
    if not isinstance(data, dict):
        keys = ", ".join(f.name for f in dataclasses.fields(cls))
        got = "an empty file" if data is None else type(data).__name__
        raise ConfigError(f"a {what} is a YAML mapping with keys {keys}; got {got}")
    return data


@contextmanager
def naming_file(path: Path, error: type[ConfigError] | None = None) -> Iterator[None]:
    """Prefix the ConfigErrors raised inside with the file they are about (re-raised as ``error``)."""
    try:
        yield
    except ConfigError as err:
        raise (error or type(err))(f"{path}: {err}") from None


def build(cls: type[T], values: Any, where: str = "") -> T:
    """``values`` (a mapping, as YAML loads it) checked and converted into ``cls``.

    ``where`` is the dotted key of ``values`` in its file ("" for the top level).
    """
    if values is None:  # an empty section (``train:``) keeps every default
        values = {}
    if not isinstance(values, dict):
        raise ConfigError(f"{where or 'the file'} must be a mapping of keys, got {_describe(values)}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    for key in values:
        if key not in fields:
            raise ConfigError(unknown_key(key, fields, where))
    missing = [name for name, f in fields.items() if name not in values and _required(f)]
    if missing:
        raise ConfigError(f"{_prefix(where)}missing key(s) {', '.join(missing)}")
    hints = typing.get_type_hints(cls)
    kwargs = {name: convert(hints[name], values[name], _join(where, name)) for name in fields if name in values}
    try:
        return cls(**kwargs)
    except ConfigError as err:  # a __post_init__ check: say which entry it is about
        raise type(err)(f"{_prefix(where)}{err}") from None


def unknown_key(key: Any, known: Iterable[str], where: str = "") -> str:
    """The message for an unknown ``key`` of the entry at ``where``, with the likely spelling."""
    known = list(known)
    close = difflib.get_close_matches(str(key), known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(known)})"
    return f"{_prefix(where)}unknown key {key!r}{hint}"


def convert(hint: Any, value: Any, key: str) -> Any:
    """One value checked against its type hint (and converted: lists to tuples, ints to floats)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return value
    if dataclasses.is_dataclass(hint):
        return build(hint, value, key)
    if origin in (Union, types.UnionType):
        others = [a for a in args if a is not type(None)]
        if value is None and len(others) < len(args):
            return None
        if len(others) != 1:
            raise TypeError(f"{key}: only X | None unions are supported, got {hint}")
        return convert(others[0], value, key)
    if origin is Literal:
        if not any(value == a and type(value) is type(a) for a in args):  # True == 1: compare types too
            raise ConfigError(f"{key} must be one of {', '.join(map(repr, args))}, got {value!r}")
        return value
    if origin in (list, tuple):
        if not isinstance(value, list):
            raise ConfigError(f"{key} must be a list, got {_describe(value)}")
        items = [convert(args[0], item, f"{key}[{i}]") for i, item in enumerate(value)]
        return items if origin is list else tuple(items)
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key} must be a mapping, got {_describe(value)}")
        return {convert(args[0], k, key): convert(args[1], v, _join(key, str(k))) for k, v in value.items()}
    return _scalar(hint, value, key)


def _scalar(hint: type, value: Any, key: str) -> Any:
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key} must be true or false, got {value!r}")
        return value
    if hint is int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise ConfigError(f"{key} must be an integer, got {value!r}")
        return value
    if hint is float:
        return _number(value, key)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key} must be a string, got {value!r}")
        return value
    raise TypeError(f"{key}: unsupported type hint {hint!r}")


def _number(value: Any, key: str) -> float:
    # PyYAML (YAML 1.1) reads exponents without a dot, "1e-4", as strings: accept them as numbers.
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            pass
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise ConfigError(f"{key} must be a number, got {value!r}")
    return float(value)


def _required(field: dataclasses.Field) -> bool:
    return field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _prefix(where: str) -> str:
    return f"{where}: " if where else ""


def _describe(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__


__all__ = ["build", "convert", "load_dataclass", "naming_file", "unknown_key"]
