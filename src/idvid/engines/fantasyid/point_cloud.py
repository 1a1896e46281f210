"""Read a FLAME point cloud from a PLY file (what the release's ``decalib.process_pcd`` writes
with Open3D: binary little-endian doubles), without Open3D."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from idvid.errors import ConfigError

_PLY_TYPES = {"char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1", "short": "i2", "int16": "i2",
              "ushort": "u2", "uint16": "u2", "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4",
              "float": "f4", "float32": "f4", "double": "f8", "float64": "f8"}
_ENDIAN = {"binary_little_endian": "<", "binary_big_endian": ">", "ascii": ""}


def read_point_cloud(path: str | Path) -> np.ndarray:
    """(V, 3) float32 vertex positions of a PLY file; ConfigError naming the file for anything else."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ConfigError(f"cannot read the face mesh {path}: {e.strerror or e}") from None
    try:
        return _parse(data)
    except ValueError as e:
        raise ConfigError(f"{path.name} is not a PLY point cloud: {e}") from None


def _parse(data: bytes) -> np.ndarray:
    end = data.find(b"end_header")
    if not data.startswith(b"ply") or end < 0:
        raise ValueError("no PLY header")
    body = data[data.index(b"\n", end) + 1:]
    lines = data[:end].decode("ascii", errors="replace").splitlines()
    formats = [line.split()[1:2] for line in lines if line.startswith("format")]
    fmt = formats[0][0] if formats and formats[0] else None
    if fmt not in _ENDIAN:
        raise ValueError(f"its format is {fmt or 'missing'}; ascii or binary are read")
    elements = []  # (name, count, [(property, dtype)]), up to the vertices
    for words in (line.split() for line in lines):
        if words[:1] == ["element"] and len(words) == 3:
            if elements or words[1] != "vertex":
                break  # faces and the like after the vertices are not needed; vertices must come first
            elements.append((words[1], int(words[2]), []))
        elif words[:1] == ["property"] and len(words) >= 3:
            if not elements:
                raise ValueError("a property comes before any element")
            if words[1] not in _PLY_TYPES:  # also "list": faces are not needed, vertices have none
                raise ValueError(f"its {elements[-1][0]} element has a {words[1]} property, which is not read")
            elements[-1][2].append((words[-1], _PLY_TYPES[words[1]]))
    if not elements or elements[0][0] != "vertex" or {"x", "y", "z"} - {p for p, _ in elements[0][2]}:
        raise ValueError("the first element must be vertices with x, y and z")
    _, count, properties = elements[0]
    if fmt == "ascii":
        lines = body.decode("ascii", errors="replace").splitlines()[:count]
        rows = [line.split() for line in lines]
        if len(rows) < count or any(len(row) < len(properties) for row in rows):
            raise ValueError(f"its header promises {count} vertices of {len(properties)} values; the file holds less")
        values = np.asarray([row[:len(properties)] for row in rows], dtype=np.float64)
        table = {p: values[:, i] for i, (p, _) in enumerate(properties)}
    else:
        dtype = np.dtype([(p, _ENDIAN[fmt] + t) for p, t in properties])
        if len(body) < dtype.itemsize * count:
            raise ValueError(f"its header promises {count} vertices; the file holds less")
        table = np.frombuffer(body, dtype=dtype, count=count)
    vertices = np.stack([table["x"], table["y"], table["z"]], axis=1).astype(np.float32)
    if not np.isfinite(vertices).all():
        raise ValueError("it holds non-finite coordinates")
    return vertices


def write_point_cloud(path: str | Path, vertices: np.ndarray) -> None:
    """Binary little-endian doubles, as Open3D writes a point cloud."""
    vertices = np.asarray(vertices, "<f8")
    header = (f"ply\nformat binary_little_endian 1.0\nelement vertex {len(vertices)}\n"
              "property double x\nproperty double y\nproperty double z\nend_header\n")
    Path(path).write_bytes(header.encode("ascii") + vertices.tobytes())
