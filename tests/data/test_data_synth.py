"""idvid synth: determinism, identity split, references are not frames, resume, report."""

from __future__ import annotations

import json

import numpy as np
import pytest

from idvid.data.store import ClipStore, StoreError
from idvid.data.synth import REPORT_NAME, split_identities, synthesize
from idvid.data.synth_scene import compose_caption, sample_scene, strip_scene_words
from idvid.errors import FaceError
from idvid.face import SAME_PERSON_THRESHOLD
from idvid.render.scene_text import scene_from_text

OPTIONS = {"identities": 3, "clips_per_identity": 1, "seed": 3, "size": 96, "num_frames": 9,
           "heldout_fraction": 0.34, "progress": False}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two runs with the same seed in different folders."""
    a, b = tmp_path_factory.mktemp("synth_a"), tmp_path_factory.mktemp("synth_b")
    return (a, synthesize(a, **OPTIONS)), (b, synthesize(b, **OPTIONS))


def _sidecars(root):
    return {p.name: p.read_bytes() for p in sorted(root.glob("shards/*/*.json"))}


def test_same_seed_same_bytes_and_frames(runs):
    (a, _), (b, _) = runs
    sa, sb = _sidecars(a), _sidecars(b)
    assert len(sa) == 3 and sa == sb
    assert (a / "index.jsonl").read_bytes() == (b / "index.jsonl").read_bytes()
    assert (a / REPORT_NAME).read_bytes() == (b / REPORT_NAME).read_bytes()
    store_a, store_b = ClipStore(a), ClipStore(b)
    for meta in store_a.clips():
        fa, ra, _ = store_a.read_clip(meta["clip_id"])
        fb, rb, _ = store_b.read_clip(meta["clip_id"])
        np.testing.assert_array_equal(fa, fb)
        for key in ra:
            np.testing.assert_array_equal(ra[key], rb[key])


def test_clip_metadata(runs):
    (root, _), _ = runs
    for meta in ClipStore(root).clips(use_index=False):
        assert (meta["num_frames"], meta["height"], meta["width"], meta["bucket"]) == (9, 96, 96, "96x96")
        assert meta["source"] == "synth" and meta["caption"]
        assert 0.0 <= meta["face_stats"]["detection_rate"] <= 1.0
        if meta["split"] == "heldout":
            controls = np.asarray(meta["controls"])
            assert controls.shape == (9, 16) and len(meta["control_names"]) == 16
            assert meta["program"]["frames"] == 9
        else:
            assert "controls" not in meta


def test_heldout_and_train_identities_disjoint(runs):
    (root, report), _ = runs
    clips = ClipStore(root).clips()
    train = {m["identity"] for m in clips if m["split"] == "train"}
    held = {m["identity"] for m in clips if m["split"] == "heldout"}
    assert train and held and not (train & held)
    assert set(report["identities"]["heldout"]) == held
    flags = split_identities(10, 0.2, 0)
    assert sum(flags) == 2 and flags == split_identities(10, 0.2, 0)
    assert sum(split_identities(2, 0.01, 5)) == 1  # at least one, never all


def test_references_are_not_frames(runs, analyzer):
    (root, _), _ = runs
    store = ClipStore(root)
    for meta in store.clips():
        frames, refs, _ = store.read_clip(meta["clip_id"])
        assert (refs["frame_indices"] == -1).all()
        assert len(refs["crops"]) == 3
        for frame in frames:
            try:
                crop = analyzer.analyze(frame).crop
            except FaceError:  # a frame without a detectable face cannot equal a reference
                continue
            for ref in refs["crops"]:
                assert np.abs(crop.astype(int) - ref.astype(int)).mean() > 2.0


def test_report_identity_numbers(runs):
    (root, report), _ = runs
    saved = json.loads((root / REPORT_NAME).read_text())
    assert "timing" not in saved and "timing" in report
    same, diff = saved["same_identity"], saved["different_identity"]
    assert saved["threshold"] == SAME_PERSON_THRESHOLD
    assert same["pairs"] > 0 and diff["pairs"] > 0
    assert same["fraction_above_threshold"] > 0.5, same  # most same-identity pairs match
    assert diff["fraction_below_threshold"] > 0.5, diff  # most different-identity pairs do not
    assert saved["identity_photos"]["max"] < SAME_PERSON_THRESHOLD


def test_partial_clip_rewritten_on_rerun(runs, tmp_path):
    (root, _), (other, _) = runs
    import shutil

    work = tmp_path / "copy"
    shutil.copytree(root, work)
    victim = min(work.glob("shards/*/*.json"))
    victim.unlink()
    victim.with_suffix(".mp4").write_bytes(b"half an mp4")
    assert victim.stem not in ClipStore(work)
    synthesize(work, **OPTIONS)
    assert _sidecars(work) == _sidecars(other)
    np.testing.assert_array_equal(ClipStore(work).read_frames(victim.stem), ClipStore(other).read_frames(victim.stem))
    with pytest.raises(StoreError, match="other options"):
        synthesize(work, **{**OPTIONS, "seed": 4})


def test_scene_phrases_read_back_and_captions():
    rng = np.random.default_rng(0)
    for _ in range(40):
        scene, phrase = sample_scene(rng)
        if phrase:
            assert scene_from_text(f"a person nods {phrase}").kind == scene.kind, phrase
    assert strip_scene_words("a man nods, in a busy office") == "a man nods"
    assert compose_caption("She smiles in a forest.", "on a beach", "orange") == (
        "She smiles, wearing an orange top, on a beach")
