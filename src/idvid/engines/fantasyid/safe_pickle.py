"""Read the research pickles FantasyID's 3D prior needs (FLAME's model, the mesh-sampling
matrices) without running anything they might contain.

Plain ``pickle.load`` can call any importable function. :func:`load_arrays` admits only what
those files hold: numpy arrays and scalars, scipy sparse matrices and chumpy arrays, the last two
rebuilt as inert records of their arrays. Any other global is refused with a
:class:`~idvid.errors.ConfigError` naming it.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from idvid.errors import ConfigError

_NUMPY_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
}
# Python 2 pickles build new-style objects through copy_reg; the class it gets is vetted separately.
_RECONSTRUCTORS = {("copy_reg", "_reconstructor"), ("copyreg", "_reconstructor"),
                   ("__builtin__", "object"), ("builtins", "object"),
                   ("_codecs", "encode")}  # how protocol 2 spells bytes: encode(text, "latin1")
_SPARSE_FORMATS = ("csc_matrix", "csr_matrix", "coo_matrix")


class _Record:
    """An object's pickled attributes, kept as data; nothing of its class runs."""

    def __setstate__(self, state) -> None:
        self.state = state[0] if isinstance(state, tuple) and len(state) == 2 and state[1] is None else state


class SparseRecord(_Record):
    format = ""


class ChumpyRecord(_Record):
    pass


def _sparse_record(name: str) -> type:
    return type(name, (SparseRecord,), {"format": name[:3]})


class _ArrayUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) in _NUMPY_GLOBALS | _RECONSTRUCTORS:
            return super().find_class(module, name)
        if module.startswith("scipy.sparse") and name in _SPARSE_FORMATS:
            return _sparse_record(name)
        if module.startswith("chumpy") and name == "Ch":
            return ChumpyRecord
        raise ConfigError(f"refusing to load {self.source}: it references {module}.{name}, "
                          "and only arrays are admitted")

    source = ""


@dataclass(frozen=True)
class Sparse:
    """A sparse matrix as COO triplets, in the order scipy's ``tocoo()`` lists them (the order
    FantasyID's mesh sampling sums in)."""

    row: np.ndarray
    col: np.ndarray
    value: np.ndarray
    shape: tuple[int, int]


def load_arrays(path: str | Path):
    """The pickle at ``path`` with numpy arrays as they are, sparse matrices as :class:`Sparse`
    and chumpy arrays as numpy arrays; ConfigError for anything else it references."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path} is not a file" if path.exists() else f"{path}: no such file")
    if path.stat().st_size == 0:
        raise ConfigError(f"{path.name} is empty")
    with open(path, "rb") as f:
        unpickler = _ArrayUnpickler(f, encoding="latin1")
        unpickler.source = path.name
        try:
            return _plain(unpickler.load())
        except ConfigError:  # a global refused by name: already one clear line
            raise
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as e:
            raise ConfigError(f"{path.name} is not a readable pickle of arrays: {e}") from None


def _plain(value):
    """Records replaced by arrays, recursively through dicts, lists and tuples."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    if isinstance(value, SparseRecord):
        return _sparse(value)
    if isinstance(value, ChumpyRecord):
        return np.asarray(value.state["x"])
    if isinstance(value, _Record):
        raise ConfigError(f"unexpected record {type(value).__name__}")
    return value


def _sparse(record: SparseRecord) -> Sparse:
    state = record.state
    shape = tuple(int(n) for n in state.get("_shape", state.get("shape")))
    data = np.asarray(state["data"])
    if record.format == "coo":  # scipy >= 1.13 keeps (row, col) as "coords"
        row, col = state["coords"] if "coords" in state else (state["row"], state["col"])
        return Sparse(np.asarray(row), np.asarray(col), data, shape)
    indices, indptr = np.asarray(state["indices"]), np.asarray(state["indptr"])
    major = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    if record.format == "csc":  # columns are major
        return Sparse(indices, major, data, shape)
    return Sparse(major, indices, data, shape)
