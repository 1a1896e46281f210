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
        return [scipy.sparse.csc_matrix((t.value, (t.row, t.col)), shape=t.shape) for t in transforms]

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
        dense_a = scipy.sparse.coo_matrix((a.value, (a.row, a.col)), shape=a.shape).toarray()
        dense_b = scipy.sparse.coo_matrix((b.value, (b.row, b.col)), shape=b.shape).toarray()
        assert np.array_equal(dense_a, dense_b)
    code, _, err = run_cli(capsys, "convert", "--mesh-sampling", tmp_path / "transform.pkl", "--out", tmp_path / "p")
    assert code == 1 and "exists" in error_line(err)  # never overwritten unasked


def test_convert_asks_first_what_to_convert_then_where(capsys, tmp_path):
    code, _, err = run_cli(capsys, "convert")
    assert code == 1 and error_line(err) == "error: give what to convert: --mesh-sampling, or --deca with --flame"
    code, _, err = run_cli(capsys, "convert", "--mesh-sampling", tmp_path / "transform.pkl")
    assert code == 1 and error_line(err) == "error: give --out DIR: the folder to write the converted files into"


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
    with pytest.raises(ConfigError, match="faces.ply is not a PLY point cloud: the first element must be vertices"):
        read_point_cloud(tmp_path / "faces.ply")
    mesh = (f"ply\nformat ascii 1.0\nelement vertex 50\nproperty float x\nproperty float y\nproperty float z\n"
            f"element face 1\nproperty list uchar int vertex_indices\nend_header\n{rows.replace(' 255', '')}\n3 0 1 2\n")
    (tmp_path / "mesh.ply").write_text(mesh)  # a mesh: its faces after the vertices are not needed
    assert np.allclose(read_point_cloud(tmp_path / "mesh.ply"), points, atol=1e-6)
    for name, header, message in (("noformat.ply", "ply\nelement vertex 1\nend_header\n", "its format is missing"),
                                  ("short.ply", "ply\nformat ascii 1.0\nelement vertex 9\nproperty float x\n"
                                                "property float y\nproperty float z\nend_header\n1 2 3\n",
                                   "its header promises 9 vertices of 3 values; the file holds less")):
        (tmp_path / name).write_text(header)
        with pytest.raises(ConfigError, match=message):
            read_point_cloud(tmp_path / name)


def flame_pickle(path, rng):
    """A FLAME-2020-shaped generic_model.pkl on the tiny icosphere: chumpy-free (arrays and a
    scipy matrix) with FLAME's keys, 300 + 100 blend shapes and five joints."""
    vertices, faces, _ = icosphere(SUBDIVISIONS)
    count = len(vertices)
    regressor = scipy.sparse.csc_matrix(rng.random((5, count)) * (rng.random((5, count)) < 0.05))
    model = {"f": faces.astype(np.uint32), "v_template": vertices * 0.1,
             "shapedirs": rng.normal(0, 1e-3, (count, 3, 400)), "posedirs": rng.normal(0, 1e-3, (count, 3, 36)),
             "J_regressor": regressor, "kintree_table": np.array([[4294967295, 0, 1, 1, 1], [0, 1, 2, 3, 4]]),
             "weights": rng.dirichlet(np.ones(5), count), "bs_style": "lbs"}
    path.write_bytes(pickle.dumps(model, protocol=2))
    return model


def test_deca_and_flame_convert_into_a_working_3d_prior(capsys, tmp_path, astronaut, astronaut_obs):
    import json

    import torch

    from idvid.engines.fantasyid.deca import DecaEncoder
    from idvid.engines.fantasyid.face_prior import DECA_CONFIG, FacePrior, mesh_box_points

    rng = np.random.default_rng(0)
    model = flame_pickle(tmp_path / "generic_model.pkl", rng)
    narrow = dict(blocks=(3, 4, 6, 3), width=8, hidden=16)  # DECA's key names at a fraction of its width
    encoder = DecaEncoder(**narrow)
    torch.save({"E_flame": encoder.state_dict(), "E_detail": {"x": torch.zeros(1)}}, tmp_path / "deca_model.tar")
    code, out, err = run_cli(capsys, "convert", "--deca", tmp_path / "deca_model.tar", "--flame",
                             tmp_path / "generic_model.pkl", "--out", tmp_path / "prior")
    assert code == 0, err
    assert "FLAME: 642 vertices, 5 joints" in out and "DECA's coarse encoder" in out
    (tmp_path / "prior" / DECA_CONFIG).write_text(json.dumps(narrow))
    prior = FacePrior.from_dir(tmp_path / "prior")
    assert prior.flame.shapedirs.shape == (642, 3, 150)  # DECA's 100 shape + 50 expression components
    assert torch.equal(prior.flame.J_regressor, torch.tensor(model["J_regressor"].toarray(), dtype=torch.float32))
    assert prior.flame.parents.tolist() == [-1, 0, 1, 1, 1]
    points = prior.vertices(astronaut, mesh_box_points(astronaut_obs.vertices))
    assert points.shape == (642, 3) and np.isfinite(points).all()
    # a code of zeros is FLAME's template: shape, expression and pose at rest
    zeros = torch.zeros(1, 100), torch.zeros(1, 50), torch.zeros(1, 6)
    assert torch.allclose(prior.flame(*zeros)[0], torch.tensor(model["v_template"], dtype=torch.float32), atol=1e-6)


def test_deca_files_that_are_not_tensors_or_not_deca_are_refused(capsys, tmp_path):
    import torch

    target = tmp_path / "pwned"
    (tmp_path / "deca_model.tar").write_bytes(pickle.dumps({"E_flame": Payload(target)}))
    flame_pickle(tmp_path / "generic_model.pkl", np.random.default_rng(0))
    code, _, err = run_cli(capsys, "convert", "--deca", tmp_path / "deca_model.tar", "--flame",
                           tmp_path / "generic_model.pkl", "--out", tmp_path / "prior")
    assert code == 1 and error_line(err) == ("error: cannot read deca_model.tar as a DECA checkpoint of tensors: "
                                             "torch's tensor-only loader refused it")
    assert not target.exists() and not (tmp_path / "prior" / "deca.safetensors").exists()
    torch.save({"E_flame": {"conv.weight": torch.zeros(1)}}, tmp_path / "other.tar")
    code, _, err = run_cli(capsys, "convert", "--deca", tmp_path / "other.tar", "--flame",
                           tmp_path / "generic_model.pkl", "--out", tmp_path / "prior")
    assert code == 1 and "other.tar's encoder does not match DECA's" in error_line(err)
    code, _, err = run_cli(capsys, "convert", "--deca", tmp_path / "other.tar", "--out", tmp_path / "prior")
    assert code == 1 and error_line(err) == "error: --deca and --flame go together: FantasyID's 3D prior needs both"
