"""Bench summaries and suites without generating anything: hand-made run folders and the
packaged YAML files."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from idvid.eval.bench_summary import summarize_run
from idvid.eval.fid import frechet_distance_from_features
from idvid.eval.run_files import write_rows
from idvid.eval.suites import SUITES_DIR, load_suite, packaged_suites


def _fake_run(run_dir: Path, rows: list[dict]) -> Path:
    """A run folder with run.json and metrics.csv only (2 faces x 2 prompts x 1 seed)."""
    run_dir.mkdir()
    suite = {"name": "fake", "faces": [{"id": "a"}, {"id": "b"}], "prompts": [{"id": "p"}, {"id": "q"}],
             "seeds": [0]}
    (run_dir / "run.json").write_text(json.dumps({"model": "m", "suite": suite, "idvid_version": "0"}))
    write_rows(run_dir / "metrics.csv", {r["item_id"]: r for r in rows})
    return run_dir


def _row(item: str, face: str, tags: str, **values) -> dict:
    return {"item_id": item, "face": face, "prompt_id": item, "prompt": "text", "seed": "0", "tags": tags,
            **{k: "" if v is None else repr(float(v)) for k, v in values.items()}, "gen_seconds": "1.5",
            "eval_seconds": "0.25"}


def test_summary_statistics_use_a_t_interval_and_skip_missing_values(tmp_path):
    run = _fake_run(tmp_path / "run", [
        _row("a1", "a", "action", facesim=0.5, temporal_flicker=1.0),
        _row("a2", "a", "action;scene", facesim=0.7, temporal_flicker=None),
        _row("b1", "b", "scene", facesim=0.2, temporal_flicker=3.0),
        _row("b2", "b", "", facesim=0.6, temporal_flicker=None),
    ])
    summary = summarize_run(run)
    facesim = summary["metrics"]["facesim"]
    x = np.array([0.5, 0.7, 0.2, 0.6])
    half = stats.t.ppf(0.975, 3) * x.std(ddof=1) / 2
    assert facesim["mean"] == pytest.approx(0.5) and facesim["std"] == pytest.approx(x.std(ddof=1))
    assert facesim["ci95"] == pytest.approx([0.5 - half, 0.5 + half])
    assert (facesim["n"], facesim["n_missing"], facesim["direction"]) == (4, 0, "higher")
    flicker = summary["metrics"]["temporal_flicker"]  # direction from the registry (no eval.json here)
    assert (flicker["n"], flicker["n_missing"], flicker["mean"], flicker["direction"]) == (2, 2, 2.0, "lower")
    assert summary["ci_method"].startswith("t")
    assert summary["by_tag"]["action"] == {"n_items": 2, "means": {"facesim": pytest.approx(0.6),
                                                                 "temporal_flicker": 1.0}}
    assert summary["by_tag"]["scene"]["means"]["facesim"] == pytest.approx(0.45)
    assert summary["by_face"]["b"]["means"] == {"facesim": pytest.approx(0.4), "temporal_flicker": 3.0}
    assert summary["items"] == {"done": 4, "total": 4}
    assert summary["timing"]["generation_seconds_total"] == 6.0 and summary["timing"]["eval_seconds_mean"] == 0.25
    assert summary["face_fid_pooled"] is None
    json.dumps(summary, allow_nan=False)  # JSON-clean: no NaN anywhere


def test_one_value_has_a_mean_but_no_interval(tmp_path):
    summary = summarize_run(_fake_run(tmp_path / "run", [_row("a1", "a", "", facesim=0.5),
                                                         _row("a2", "a", "", facesim=None)]))
    assert summary["metrics"]["facesim"] == {"mean": 0.5, "std": None, "n": 1, "n_missing": 1, "ci95": None,
                                             "direction": "higher"}


def test_face_fid_is_pooled_over_all_items(tmp_path):
    run = _fake_run(tmp_path / "run", [_row("a1", "a", ""), _row("a2", "a", ""), _row("b1", "b", "")])
    rng = np.random.default_rng(0)
    (run / "items").mkdir()
    refs = {"a": rng.normal(size=(1, 6)), "b": rng.normal(size=(2, 6))}
    frames = {item: rng.normal(1.0, size=(4, 6)) for item in ("a1", "a2", "b1")}
    for item in frames:
        np.savez(run / "items" / f"{item}.features.npz", face_fid_reference=refs[item[0]],
                 face_fid_frames=frames[item])
    pooled = summarize_run(run)["face_fid_pooled"]
    expected = frechet_distance_from_features(np.concatenate([refs["a"], refs["b"]]),
                                              np.concatenate(list(frames.values())))
    assert pooled == {"value": pytest.approx(expected), "n_reference": 3, "n_frames": 12}
    assert math.isfinite(pooled["value"]) and pooled["value"] > 0


def test_packaged_suites_load_and_cover_the_brief():
    assert packaged_suites() == ["actions", "colours", "default", "smoke"]
    default = load_suite("default")
    assert [f.id for f in default.faces] == ["astronaut", "grace-hopper"]
    assert len(default.prompts) == 24 and default.seeds == (0, 1) and len(default.items()) == 96
    assert {t for p in default.prompts for t in p.tags} == {"action", "scene", "lighting", "camera"}
    text = " ".join(p.text for p in default.prompts)
    for words in ("left", "right", "nods", "shakes", "looks up", "looks down", "tilts", "walks", "dances",
                  "talks", "smile", "laughs", "beach at sunset", "snowy forest", "office", "city street",
                  "solid red wall", "warm", "dim", "night", "zooms in", "pans"):
        assert words in text, words
    for face in default.faces:
        assert all(p.is_file() and p.parent == SUITES_DIR / "faces" for p in face.photos)
    smoke = load_suite(SUITES_DIR / "smoke.yaml")
    assert (len(smoke.faces), len(smoke.prompts), len(smoke.seeds)) == (1, 2, 1)
    assert smoke.options == {"num_frames": 9, "height": 64, "width": 64, "num_inference_steps": 1}


def test_shipped_photos_are_the_repository_assets():
    assets = Path(__file__).resolve().parents[2] / "assets"
    for name in ("astronaut.jpg", "grace_hopper.jpg"):
        assert (SUITES_DIR / "faces" / name).read_bytes() == (assets / name).read_bytes()


def test_photo_references_resolve_from_the_yaml_assets_and_package(tmp_path):
    suite = tmp_path / "sub" / "suite.yaml"
    suite.parent.mkdir()
    (tmp_path / "me.jpg").write_bytes((SUITES_DIR / "faces" / "astronaut.jpg").read_bytes())
    suite.write_text("name: s\nfaces:\n  - {id: rel, photos: [../me.jpg]}\n  - {id: assets, photos: ['assets:grace_hopper.jpg']}\n"
                     "  - {id: pkg, photos: ['package:eval/suites/faces/astronaut.jpg']}\n"
                     "prompts: [{id: p, text: t}]\nseeds: [3]\n")
    faces = {f.id: f.photos[0] for f in load_suite(suite).faces}
    assert faces["rel"] == (tmp_path / "me.jpg").resolve()
    assert faces["assets"].name == "grace_hopper.jpg" and faces["assets"].is_file()
    assert faces["pkg"] == SUITES_DIR / "faces" / "astronaut.jpg"


def test_the_fingerprint_follows_photo_contents_not_paths(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for folder in (a, b):
        folder.mkdir()
        (folder / "me.jpg").write_bytes((SUITES_DIR / "faces" / "astronaut.jpg").read_bytes())
        (folder / "suite.yaml").write_text("name: s\nfaces: [{id: me, photos: [me.jpg]}]\n"
                                           "prompts: [{id: p, text: t}]\nseeds: [0]\n")
    assert load_suite(a / "suite.yaml").fingerprint() == load_suite(b / "suite.yaml").fingerprint()
    (b / "me.jpg").write_bytes((SUITES_DIR / "faces" / "grace_hopper.jpg").read_bytes())
    assert load_suite(a / "suite.yaml").fingerprint() != load_suite(b / "suite.yaml").fingerprint()
