"""The research files FantasyID's 3D prior needs, read without running them: the restricted
unpickler, the mesh-sampling conversion (``idvid convert``), and PLY point clouds."""

import pickle
import sys
import types

import numpy as np
import pytest
import scipy.sparse
from cli_helpers import error_line, run_cli

from idvid.engines.fantasyid.mesh_sampling import MeshSampling
from idvid.engines.fantasyid.point_cloud import read_point_cloud, write_point_cloud
from idvid.engines.fantasyid.safe_pickle import Sparse, load_arrays
from idvid.engines.fantasyid.tiny import SUBDIVISIONS, icosphere, tiny_mesh
from idvid.errors import ConfigError


class Payload:
    """What a malicious pickle runs on load: here, it would create a file."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        import pathlib

        return pathlib.Path.touch, (pathlib.Path(self.target),)


def test_a_pickle_that_would_run_code_is_refused_and_nothing_runs(tmp_path):
    target = tmp_path / "pwned"
    path = tmp_path / "transform.pkl"
    path.write_bytes(pickle.dumps({"face": [np.zeros((1, 3), np.int64)], "hook": Payload(target)}))
    with pytest.raises(ConfigError, match=r"refusing to load transform.pkl: it references pathlib\.(Path|PosixPath)"
                                          r"\.touch, and only arrays are admitted"):
        load_arrays(path)
    assert not target.exists()
    path.write_bytes(pickle.dumps(types.SimpleNamespace(a=1)))
    with pytest.raises(ConfigError, match="references types.SimpleNamespace"):
        load_arrays(path)


@pytest.mark.parametrize("fmt", ["csc", "csr", "coo"])
def test_arrays_sparse_matrices_and_chumpy_arrays_come_back_as_plain_data(tmp_path, monkeypatch, fmt):
    chumpy = types.ModuleType("chumpy.ch")

    class Ch:  # pickles as chumpy's Ch does: its array in the state's "x"
        def __init__(self, x):
            self.x = x

    Ch.__module__, Ch.__qualname__ = "chumpy.ch", "Ch"
    chumpy.Ch = Ch
    monkeypatch.setitem(sys.modules, "chumpy", types.ModuleType("chumpy"))
    monkeypatch.setitem(sys.modules, "chumpy.ch", chumpy)
    rng = np.random.default_rng(0)
    dense = rng.random((6, 9)) * (rng.random((6, 9)) < 0.3)
    matrix = getattr(scipy.sparse, f"{fmt}_matrix")(dense)
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps({"v": np.arange(6.0).reshape(2, 3), "m": [matrix], "shapedirs": Ch(np.ones(4)),
                                   "n": np.int64(7)}, protocol=2))
    monkeypatch.delitem(sys.modules, "chumpy.ch")  # reading needs no chumpy
    monkeypatch.delitem(sys.modules, "chumpy")
    data = load_arrays(path)
    assert np.array_equal(data["v"], np.arange(6.0).reshape(2, 3)) and data["n"] == 7
    assert np.array_equal(data["shapedirs"], np.ones(4))
    sparse = data["m"][0]
    coo = matrix.tocoo()
    assert isinstance(sparse, Sparse) and sparse.shape == (6, 9)
    assert np.array_equal(sparse.row, coo.row) and np.array_equal(sparse.col, coo.col)  # scipy's order
    assert np.array_equal(sparse.value, coo.data)


def mesh_pickle(path):
    """A transform.pkl-like file of the tiny icosphere hierarchy, sparse matrices as scipy's."""
    mesh = tiny_mesh()
    levels = [icosphere(SUBDIVISIONS - level) for level in range(3)]

    def matrices(transforms):
        return [scipy.sparse.csc_matrix((t.value, (t.row, t.col)), shape=t.size) for t in transforms]

    data = {"face": [faces for _, faces, _ in levels], "vertices": [v for v, _, _ in levels],
            "down_transform": matrices(mesh.down), "up_transform": matrices(mesh.up)}
    path.write_bytes(pickle.dumps(data))
    return mesh


def test_convert_writes_the_mesh_hierarchy_once(capsys, tmp_path):
    expected = mesh_pickle(tmp_path / "transform.pkl")
    code, out, err = run_cli(capsys, "convert", "--mesh-sampling", tmp_path / "transform.pkl", "--out", tmp_path / "p")
    assert code == 0, err
    assert "mesh levels 642 -> 162 -> 42 vertices, spirals of 9" in out
    converted = MeshSampling.load(tmp_path / "p" / "mesh_sampling.npz")
    for a, b in zip(converted.spirals, expected.spirals):
        assert np.array_equal(a, b)
    for a, b in zip(converted.up + converted.down, expected.up + expected.down):
        dense_a = scipy.sparse.coo_matrix((a.value, (a.row, a.col)), shape=a.size).toarray()
        dense_b = scipy.sparse.coo_matrix((b.value, (b.row, b.col)), shape=b.size).toarray()
        assert np.array_equal(dense_a, dense_b)
    code, _, err = run_cli(capsys, "convert", "--mesh-sampling", tmp_path / "transform.pkl", "--out", tmp_path / "p")
    assert code == 1 and "exists" in error_line(err)  # never overwritten unasked


def test_convert_refuses_what_is_not_a_mesh_hierarchy(capsys, tmp_path):
    (tmp_path / "other.pkl").write_bytes(pickle.dumps({"face": []}))
    code, _, err = run_cli(capsys, "convert", "--mesh-sampling", tmp_path / "other.pkl", "--out", tmp_path / "p")
    assert code == 1 and error_line(err) == ("error: other.pkl is not a mesh-sampling file: it lacks down_transform, "
                                             "up_transform, vertices")
    assert not (tmp_path / "p").exists()


def test_point_clouds_read_as_open3d_writes_them_and_as_ascii(tmp_path):
    points = np.random.default_rng(0).normal(size=(50, 3))
    write_point_cloud(tmp_path / "binary.ply", points)
    assert np.allclose(read_point_cloud(tmp_path / "binary.ply"), points, atol=1e-6)
    rows = "\n".join(f"{x} {y} {z} 255" for x, y, z in points)
    (tmp_path / "ascii.ply").write_text("ply\nformat ascii 1.0\nelement vertex 50\nproperty float x\nproperty float y\n"
                                        f"property float z\nproperty uchar red\nend_header\n{rows}\n")
    assert np.allclose(read_point_cloud(tmp_path / "ascii.ply"), points, atol=1e-6)
    (tmp_path / "faces.ply").write_text("ply\nformat ascii 1.0\nelement face 1\nproperty list uchar int idx\nend_header\n")
    with pytest.raises(ConfigError, match="faces.ply is not a PLY point cloud"):
        read_point_cloud(tmp_path / "faces.ply")
