"""Subpackages import one way: each from the layers below it, never from above, never in a circle.

Every ``import`` counts, also those inside functions; only ``if TYPE_CHECKING:`` blocks do not
(they never run). A new subpackage or top-level module must be given its layer here.
"""

import ast
import sys
from pathlib import Path

import idvid

PACKAGE = Path(idvid.__file__).parent
# Lowest first. A unit may import its own layer's units and the layers below. ``__init__`` is the
# API facade: it names its exports as strings and imports them lazily.
LAYERS = [
    {"__init__", "errors", "lazy", "native_logs"},
    {"atomic", "presets", "config_file"},
    {"video", "face"},
    {"models"},
    {"render"},
    {"loop"},
    {"engines"},
    {"data"},
    {"eval"},
    {"training"},
    {"info", "cli", "app"},
]
RANK = {unit: rank for rank, units in enumerate(LAYERS) for unit in units}


def unit_of(module: str) -> str | None:
    """The subpackage (or top-level module) of a dotted ``idvid`` module name."""
    parts = module.split(".")
    if parts[0] != "idvid":
        return None
    return parts[1] if len(parts) > 1 else "__init__"


def runtime_imports(path: Path) -> set[str]:
    """Absolute names of the idvid modules ``path`` imports when it runs."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in walk_without_type_checking(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            found.add(base)
    return found


def walk_without_type_checking(tree: ast.AST):
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (n for child in node.orelse for n in [child, *walk_without_type_checking(child)])
            continue
        yield node
        yield from walk_without_type_checking(node)


def unit_edges() -> dict[tuple[str, str], str]:
    """(importer unit, imported unit) -> one file that makes the edge."""
    edges = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        importer = unit_of(".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts))
        for imported in filter(None, map(unit_of, runtime_imports(path))):
            if imported != importer:
                edges.setdefault((importer, imported), str(path.relative_to(PACKAGE)))
    return edges


def test_every_unit_has_a_layer():
    units = {unit_of(".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts)) for p in PACKAGE.rglob("*.py")}
    assert units - set(RANK) == set(), "give these a layer in LAYERS"


def test_units_import_only_their_layer_and_below():
    upward = [f"{a} -> {b} ({where})" for (a, b), where in unit_edges().items() if RANK[b] > RANK[a]]
    assert upward == []


def test_no_import_cycle_between_units():
    graph: dict[str, set[str]] = {}
    for a, b in unit_edges():
        graph.setdefault(a, set()).add(b)
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def cycle_from(unit: str, path: list[str]) -> list[str] | None:
        state[unit] = 1
        for nxt in sorted(graph.get(unit, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt] if nxt in path else [unit, nxt]
            if nxt not in state and (found := cycle_from(nxt, path + [nxt])):
                return found
        state[unit] = 2
        return None

    cycles = [found for unit in sorted(graph) if unit not in state and (found := cycle_from(unit, [unit]))]
    assert cycles == []


def test_the_checker_sees_function_level_imports_and_skips_type_checking(tmp_path, monkeypatch):
    fake = tmp_path / "idvid"
    (fake / "data").mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "data" / "__init__.py").write_text("")
    (fake / "data" / "x.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from idvid.cli import main\n"
        "def f():\n    from idvid.training import loop\n    from . import y\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    assert runtime_imports(fake / "data" / "x.py") == {"typing", "idvid.training", "idvid.data"}
