"""idvid synth: determinism, identity split, references are not frames, resume, report; choosing
distinct identities from a candidate pool; face-shape warps."""

from __future__ import annotations

import json

import numpy as np
import pytest

from idvid.data.identities import (
    IdentityBudgetError,
    _run_candidates,
    load_sources,
    make_identities,
    select_distinct,
    similarity_stats,
)
from idvid.data.identity_morph import WARP_RANGES, shape_warp
from idvid.data.store import ClipStore, StoreError
from idvid.data.synth import REPORT_NAME, split_identities, synthesize
from idvid.data.synth_scene import compose_caption, sample_scene, strip_scene_words
from idvid.errors import DataError, FaceError
from idvid.face import SAME_PERSON_THRESHOLD
from idvid.face import landmarks as lm
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
    photos = saved["identity_photos"]
    assert photos["pairs"] == 3 and photos["max"] < saved["max_pair_similarity"]
    assert photos["fraction_below_threshold"] > 0.5, photos


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


def _clustered(groups: int, per_group: int, seed: int = 0) -> np.ndarray:
    """(groups * per_group, 128) unit vectors: near-duplicates within a group, unrelated across."""
    rng = np.random.default_rng(seed)
    centres = np.linalg.qr(rng.normal(size=(128, groups)))[0].T  # orthonormal: cosine 0 across groups
    points = np.repeat(centres, per_group, axis=0) + 0.05 * rng.normal(size=(groups * per_group, 128))
    return points / np.linalg.norm(points, axis=1, keepdims=True)


def test_select_distinct_takes_one_per_group_and_no_near_duplicates():
    embeddings = _clustered(groups=4, per_group=5)
    chosen = select_distinct(embeddings @ embeddings.T, 4, SAME_PERSON_THRESHOLD)
    assert sorted(c // 5 for c in chosen) == [0, 1, 2, 3]
    # a fifth would be a near-duplicate (cosine ~0.9 >= MAX_PAIR_SIMILARITY): the pool runs out instead
    assert len(select_distinct(embeddings @ embeddings.T, 5, SAME_PERSON_THRESHOLD)) == 4


def test_similarity_stats():
    stats = similarity_stats([0.1, 0.2, 0.5, 0.3])
    assert stats["pairs"] == 4 and stats["fraction_below_threshold"] == 0.75
    assert stats["mean"] == pytest.approx(0.275) and stats["max"] == 0.5
    assert stats["p95"] == pytest.approx(np.percentile([0.1, 0.2, 0.5, 0.3], 95))
    assert similarity_stats([])["mean"] is None


def test_too_small_a_pool_is_a_one_line_error(analyzer):
    with pytest.raises(IdentityBudgetError, match="only 2 distinct identities") as caught:
        make_identities(3, seed=0, analyzer=analyzer, pool_size=2)
    assert "\n" not in str(caught.value)


def test_candidates_same_in_worker_processes(analyzer):
    sources = load_sources(analyzer)
    alone = _run_candidates(sources, 5, [0, 1, 2, 3], analyzer, workers=1, full=False)
    spread = _run_candidates(sources, 5, [0, 1, 2, 3], analyzer, workers=2, full=False)
    assert [k for k, _ in spread] == [0, 1, 2, 3]
    for (_, a), (_, b) in zip(alone, spread):
        np.testing.assert_allclose(a, b, atol=1e-6)


@pytest.mark.parametrize("warp", sorted(WARP_RANGES))
def test_each_shape_warp_moves_its_part(astronaut_obs, warp):
    points = np.asarray(astronaut_obs.vertices, np.float64)[:, :2]
    moved = np.linalg.norm(shape_warp(points, **{warp: WARP_RANGES[warp]}) - points, axis=1)
    parts = {"jaw_width": lm.FACE_OVAL, "face_length": lm.CHIN, "eye_spacing": lm.RIGHT_EYE_CORNERS,
             "eye_size": lm.RIGHT_EYE_CORNERS, "eye_height": lm.LEFT_LOWER_LID, "brow_height": lm.LEFT_BROW,
             "nose_length": (lm.NOSE_TIP,), "mouth_width": lm.MOUTH_CORNERS, "lip_thickness": lm.LOWER_OUTER_LIP,
             "chin_length": (lm.CHIN_BOTTOM,)}
    assert moved[list(parts[warp])].max() > 1.0  # pixels, on a ~110 px high face
    assert moved[lm.FOREHEAD_TOP] < moved[list(parts[warp])].max()  # a local change, not a shift of the whole face


def test_face_fraction_makes_close_ups(runs, tmp_path):
    """The same clips framed tighter: every clip's face is larger by about the ratio asked for."""
    (root, _), _ = runs
    close = tmp_path / "close"
    synthesize(close, **OPTIONS, face_fraction=0.55)
    wide = {m["clip_id"]: m["face_stats"]["mean_face_size"] for m in ClipStore(root).clips()}
    tight = {m["clip_id"]: m["face_stats"]["mean_face_size"] for m in ClipStore(close).clips()}
    assert wide.keys() == tight.keys()
    ratios = [tight[k] / wide[k] for k in wide]
    # 0.55 / 0.38 = 1.45; the motion program's zoom and the detector's box move each clip's value
    assert min(ratios) > 1.2 and 1.25 < float(np.median(ratios)) < 1.7, ratios
    with pytest.raises(DataError, match="face_fraction"):
        synthesize(tmp_path / "bad", **OPTIONS, face_fraction=0.9)


def test_face_boxes_are_where_the_detector_finds_the_face(runs, analyzer):
    from idvid.data.shots import iou

    (root, _), _ = runs
    store = ClipStore(root)
    overlaps = []
    for meta in store.clips():
        boxes = np.asarray(meta["face_boxes"]) * 96
        assert boxes.shape == (9, 4) and (boxes[:, 2:] > 10).all()
        for frame, box in zip(store.read_frames(meta["clip_id"]), boxes):
            for face in analyzer.detect(frame):
                overlaps.append(iou(box, face.box))
    assert overlaps and min(overlaps) > 0.4, overlaps
