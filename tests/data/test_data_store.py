"""ClipStore: round trip, visibility rule (json last), index rebuild, validation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from idvid.data.store import INDEX_NAME, ClipStore, StoreError, check_refs, shard_name


def _frames(t=5, h=32, w=48, shift=0):
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([np.dstack([(x * 4 + i * 10 + shift) % 256, y * 6 % 256, np.full((h, w), 90 + i * 5)])
                     for i in range(t)]).astype(np.uint8)


def _refs(k=2, seed=0, frame_indices=None):
    rng = np.random.default_rng(seed)
    emb = rng.normal(size=(k, 128)).astype(np.float32)
    return {
        "crops": rng.integers(0, 256, (k, 224, 224, 3), dtype=np.uint8),
        "embeddings": emb / np.linalg.norm(emb, axis=1, keepdims=True),
        "vertices": rng.normal(size=(k, 478, 3)).astype(np.float32),
        "poses": rng.normal(size=(k, 3)).astype(np.float32),
        "frame_indices": np.full(k, -1) if frame_indices is None else np.asarray(frame_indices),
    }


def test_round_trip(tmp_path):
    store = ClipStore(tmp_path / "ds", shard_size=2)
    frames, refs = _frames(), _refs(frame_indices=[0, 3])
    store.write_clip("a", frames, refs, {"caption": "a person nods", "split": "train"}, number=0, fps=8)
    got_frames, got_refs, meta = store.read_clip("a")
    assert got_frames.shape == frames.shape
    assert np.abs(got_frames.astype(int) - frames.astype(int)).mean() < 3.0  # H.264 crf 18
    for key, value in refs.items():
        np.testing.assert_array_equal(got_refs[key], value)
        assert got_refs[key].dtype == check_refs(refs)[key].dtype
    assert meta["caption"] == "a person nods"
    assert (meta["num_frames"], meta["height"], meta["width"], meta["bucket"]) == (5, 32, 48, "32x48")
    assert meta["shard"] == "shard-00000"
    assert meta["fps"] == 8.0 and meta["num_refs"] == 2


def test_sharding_and_index(tmp_path):
    store = ClipStore(tmp_path, shard_size=2)
    for n, split in enumerate(["train", "train", "heldout"]):
        store.write_clip(f"c{n}", _frames(3, shift=n), _refs(1, n), {"split": split}, number=n, fps=4)
    assert shard_name(2, 2) == "shard-00001"
    assert (tmp_path / "shards" / "shard-00001" / "c2.json").is_file()
    path = store.rebuild_index()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [m["clip_id"] for m in lines] == ["c0", "c1", "c2"]
    assert [m["clip_id"] for m in store.clips(split="train")] == ["c0", "c1"]
    assert [m["clip_id"] for m in store.clips(split="heldout", use_index=False)] == ["c2"]
    # rebuilding gives the same bytes; a stale index is replaced, not appended to
    before = path.read_bytes()
    (tmp_path / INDEX_NAME).write_text('{"clip_id": "ghost"}\n')
    store.rebuild_index()
    assert path.read_bytes() == before


def test_partial_clip_is_invisible_and_overwritten(tmp_path):
    store = ClipStore(tmp_path)
    store.write_clip("x", _frames(3), _refs(1), {"v": 1}, number=0, fps=4)
    json_path = tmp_path / "shards" / "shard-00000" / "x.json"
    json_path.unlink()  # as if the writer crashed before the sidecar
    (tmp_path / "shards" / "shard-00000" / "x.mp4").write_bytes(b"garbage")
    fresh = ClipStore(tmp_path)
    assert "x" not in fresh and len(fresh) == 0 and fresh.clips(use_index=False) == []
    with pytest.raises(StoreError):
        fresh.read_clip("x")
    fresh.write_clip("x", _frames(3), _refs(1), {"v": 2}, number=0, fps=4)
    frames, _, meta = fresh.read_clip("x")
    assert meta["v"] == 2 and frames.shape == (3, 32, 48, 3)
    assert not list(tmp_path.rglob(".*part*"))  # no temporaries left behind


def test_bad_inputs(tmp_path):
    store = ClipStore(tmp_path)
    with pytest.raises(StoreError, match="frame_indices"):
        store.write_clip("a", _frames(2), {k: v for k, v in _refs(1).items() if k != "frame_indices"}, {}, 0, 4)
    bad = _refs(2)
    bad["embeddings"] = bad["embeddings"][:1]
    with pytest.raises(StoreError, match="embeddings"):
        store.write_clip("a", _frames(2), bad, {}, 0, 4)
    with pytest.raises(StoreError, match="clip id"):
        store.write_clip("../a", _frames(2), _refs(1), {}, 0, 4)
    with pytest.raises(StoreError, match="uint8"):
        store.write_clip("a", _frames(2).astype(np.float32), _refs(1), {}, 0, 4)
    assert len(store) == 0


def test_a_corrupt_index_is_a_store_error(tmp_path):
    import pytest

    from idvid.data.store import ClipStore, StoreError

    store = ClipStore(tmp_path)
    (tmp_path / "index.jsonl").write_text("{not json\n")
    with pytest.raises(StoreError, match="index.jsonl is corrupt"):
        store.clips()
