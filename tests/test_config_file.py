"""The YAML -> dataclass loader: every mistake is one line naming the file and the dotted key."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import pytest

from idvid.config_file import build, load_dataclass
from idvid.errors import ConfigError, IdvidError


@dataclass(frozen=True)
class Inner:
    lr: float = 1e-4
    mode: Literal["fast", "slow"] = "fast"
    tags: tuple[str, ...] = ()

    def __post_init__(self):
        if self.lr <= 0:
            raise ConfigError(f"lr must be > 0, got {self.lr}")


@dataclass(frozen=True)
class Outer:
    name: str
    steps: int = 1
    enabled: bool = False
    seed: int | None = None
    inner: Inner = field(default_factory=Inner)
    items: list[Inner] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def _error(values) -> str:
    with pytest.raises(ConfigError) as error:
        build(Outer, values)
    assert "\n" not in str(error.value)
    return str(error.value)


def test_a_good_file_round_trips(tmp_path):
    path = tmp_path / "good.yaml"
    path.write_text("name: run\nsteps: 3\nenabled: true\nseed: null\n"
                    "inner: {lr: 1e-3, mode: slow, tags: [a, b]}\nitems: [{lr: 2}, {}]\nextra: {k: [1]}\n")
    assert load_dataclass(Outer, path, "test config") == Outer(
        name="run", steps=3, enabled=True, seed=None, inner=Inner(lr=1e-3, mode="slow", tags=("a", "b")),
        items=[Inner(lr=2.0), Inner()], extra={"k": [1]})


def test_defaults_fill_absent_keys_and_empty_sections():
    assert build(Outer, {"name": "x", "inner": None}) == Outer(name="x")


def test_unknown_keys_name_the_nested_entry_and_suggest_a_spelling():
    assert _error({"name": "x", "inner": {"lrr": 1}}) == "inner: unknown key 'lrr'; did you mean 'lr'?"
    assert _error({"name": "x", "zzz": 1}) == (
        "unknown key 'zzz' (known: name, steps, enabled, seed, inner, items, extra)")


def test_wrong_types_name_the_dotted_key():
    assert _error({"name": "x", "inner": {"lr": "abc"}}) == "inner.lr must be a number, got 'abc'"
    assert _error({"name": "x", "steps": 1.5}) == "steps must be an integer, got 1.5"
    assert _error({"name": "x", "steps": True}) == "steps must be an integer, got True"
    assert _error({"name": "x", "enabled": "yes please"}) == "enabled must be true or false, got 'yes please'"
    assert _error({"name": 3}) == "name must be a string, got 3"
    assert _error({"name": "x", "seed": "one"}) == "seed must be an integer, got 'one'"
    assert _error({"name": "x", "inner": {"mode": "medium"}}) == "inner.mode must be one of 'fast', 'slow', got 'medium'"
    assert _error({"name": "x", "inner": {"tags": "a"}}) == "inner.tags must be a list, got str"
    assert _error({"name": "x", "items": [{}, {"tags": [1]}]}) == "items[1].tags[0] must be a string, got 1"
    assert _error({"name": "x", "inner": [1]}) == "inner must be a mapping of keys, got list"


def test_missing_required_fields_are_named():
    assert _error({"steps": 2}) == "missing key(s) name"


def test_post_init_checks_are_prefixed_with_their_entry():
    assert _error({"name": "x", "items": [{"lr": -1}]}) == "items[0]: lr must be > 0, got -1.0"


def test_file_errors_name_the_file(tmp_path):
    path = tmp_path / "bad.yaml"
    for text, message in [
        ("name: x\ninner: {lr: abc}\n", f"{path}: inner.lr must be a number, got 'abc'"),
        ("name: [x\n", f"{path}: invalid YAML at line 2, column 1:"),
        ("- a list\n", f"{path}: a test config is a YAML mapping with keys name, steps,"),
        ("", f"{path}: a test config is a YAML mapping with keys name, steps, enabled, seed, inner, items, extra; "
             "got an empty file"),
    ]:
        path.write_text(text)
        with pytest.raises(ConfigError) as error:
            load_dataclass(Outer, path, "test config")
        assert str(error.value).startswith(message) and "\n" not in str(error.value)
    with pytest.raises(ConfigError, match=r"missing\.yaml: cannot read it: No such file"):
        load_dataclass(Outer, tmp_path / "missing.yaml", "test config")


def test_config_errors_are_idvid_errors_the_cli_prints_in_one_line():
    assert issubclass(ConfigError, IdvidError)


def test_training_config_errors_name_the_file_and_key(tmp_path):
    from idvid.training.config import load_config

    path = tmp_path / "run.yaml"
    for text, message in [
        ("data: {root: x}\ntrain: {lr: abc}\n", "train.lr must be a number, got 'abc'"),
        ("data: {root: x}\ntrain: {trainable: some}\n", "train.trainable must be one of 'adapter', 'all', got 'some'"),
        ("data: {root: x}\nlora: {targets: to_q}\n", "lora.targets must be a list, got str"),
        ("data: {root: x}\ntrain: {steps: 0}\n", "train.steps, batch_size, checkpoint_every, log_every and"),  # a semantic check
    ]:
        path.write_text(text)
        with pytest.raises(ConfigError) as error:
            load_config(path)
        assert str(error.value).startswith(f"{path}: {message}"), str(error.value)
    path.write_text("data: {root: clips}\ntrain: {lr: 1e-4}\n")  # YAML 1.1 reads 1e-4 as a string
    config = load_config(path)
    assert config.train.lr == 1e-4 and config.data.root == str(tmp_path / "clips")
