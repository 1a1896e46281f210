"""ClipDataset and BucketBatchSampler: references never targets, rank shards, dropout rates, buckets, epoch keys."""

from __future__ import annotations

import numpy as np
import pytest

from idvid.data.buckets import BucketBatchSampler
from idvid.data.dataset import ClipDataset
from idvid.data.store import ClipStore

torch = pytest.importorskip("torch")

FRAMES = 12


def _refs(frame_indices, seed):
    rng = np.random.default_rng(seed)
    k = len(frame_indices)
    return {
        "crops": np.full((k, 224, 224, 3), 10 * np.arange(k)[:, None, None, None] % 256, np.uint8),
        "embeddings": rng.normal(size=(k, 128)).astype(np.float32),
        "vertices": rng.normal(size=(k, 478, 3)).astype(np.float32),
        "poses": np.stack([np.linspace(-30, 30, k), np.zeros(k), np.zeros(k)], 1).astype(np.float32),
        "frame_indices": np.asarray(frame_indices),
    }


@pytest.fixture(scope="module")
def store_root(tmp_path_factory):
    """10 clips of 12 frames: 6 at 32x32, 4 at 32x48; references include frames of the clip.
    Frame i of every clip has red channel 20 * i (so decoded targets reveal their index)."""
    root = tmp_path_factory.mktemp("ds")
    store = ClipStore(root, shard_size=4)
    for n in range(10):
        h, w = (32, 32) if n < 6 else (32, 48)
        frames = np.zeros((FRAMES, h, w, 3), np.uint8)
        frames[..., 0] = (20 * np.arange(FRAMES))[:, None, None]
        frames[..., 1] = 100
        refs = _refs([0, 3, 5, 8, 11, -1] if n % 2 == 0 else [2, 4, 6, 9], n)
        meta = {"caption": f"caption {n}", "split": "train"}
        if n % 2:  # frame i's face box starts at x = i / 100; even clips are stored without boxes
            meta["face_boxes"] = [[i / 100, 0.2, 0.5, 0.5] for i in range(FRAMES)]
        store.write_clip(f"clip{n:02d}", frames, refs, meta, n, fps=8)
    store.rebuild_index()
    return root


def test_sample_shapes_and_range(store_root):
    ds = ClipDataset(store_root, num_frames=4, frame_stride=2, num_refs=3, caption_dropout=0, identity_dropout=0)
    sample = ds[7]
    assert sample["video"].shape == (4, 3, 32, 48) and sample["video"].dtype == torch.float32
    assert -1.0 <= float(sample["video"].min()) and float(sample["video"].max()) <= 1.0
    t = sample["frame_indices"].numpy()
    assert (np.diff(t) == 2).all()
    red = (sample["video"][:, 0, 5, 5].numpy() + 1) * 127.5
    np.testing.assert_allclose(red, 20 * t, atol=4)  # the decoded targets are those frames
    assert sample["ref_crops"].shape == (3, 3, 224, 224) and sample["ref_embeddings"].shape == (3, 128)
    assert sample["ref_vertices"].shape == (3, 478, 3) and sample["ref_mask"].dtype == torch.bool
    assert sample["caption"] == "caption 7" and sample["bucket"] == "32x48"
    np.testing.assert_allclose(sample["face_boxes"][:, 0].numpy(), t / 100, atol=1e-6)  # the targets' boxes
    assert not ds[6]["face_boxes"].any()


def test_references_never_target_frames(store_root):
    ds = ClipDataset(store_root, num_frames=5, num_refs=3, caption_dropout=0, identity_dropout=0)
    seen_masked = 0
    for epoch in range(4):
        ds.set_epoch(epoch)
        for i in range(len(ds)):
            s = ds[i]
            used = s["ref_source_frames"][s["ref_mask"]].numpy()
            assert not np.isin(used, s["frame_indices"].numpy()).any()
            seen_masked += int((~s["ref_mask"]).sum())
            # views are spread: with >= 3 candidates, 3 distinct views
            assert len(set(used.tolist())) == len(used)
    refs = ClipStore(store_root).read_refs("clip01")
    assert ds.choose_refs(refs, np.arange(12), np.random.default_rng(0)).size == 0  # all are targets


def test_identity_dropped_when_no_candidate(store_root):
    ds = ClipDataset(store_root, num_frames=12, num_refs=3, caption_dropout=0, identity_dropout=0)
    s = ds[1]  # odd clips have refs only at frames 2, 4, 6, 9: all are targets when T = 12
    assert s["identity_dropped"] and not s["ref_mask"].any()
    assert float(s["ref_embeddings"].abs().sum()) == 0.0
    s0 = ds[0]  # even clips keep the -1 view
    assert s0["ref_mask"].sum() == 1 and s0["ref_source_frames"][0] == -1


def test_dropout_rates(store_root):
    ds = ClipDataset(store_root, num_frames=2, caption_dropout=0.3, identity_dropout=0.2, seed=5)
    captions, identities = [], []
    for epoch in range(200):
        ds.set_epoch(epoch)
        for i in range(0, len(ds), 2):  # even clips always have a candidate
            _, _, _, caption_dropped, identity_dropped = ds.plan(i)
            captions.append(caption_dropped)
            identities.append(identity_dropped)
    assert abs(np.mean(captions) - 0.3) < 0.03 and abs(np.mean(identities) - 0.2) < 0.03
    for epoch in range(6):  # the samples carry the planned flags
        ds.set_epoch(epoch)
        s = ds[4]
        plan = ds.plan(4)
        assert (s["caption_dropped"], s["identity_dropped"]) == plan[3:]
        assert (s["caption"] == "") == s["caption_dropped"]
        assert s["ref_mask"].any() != s["identity_dropped"]
        assert torch.equal(s["frame_indices"], torch.from_numpy(plan[0]))


def test_an_epoch_key_gives_that_epochs_sample(store_root):
    """ds[epoch, index] (what a DataLoader worker gets) is ds[index] after set_epoch(epoch)."""
    ds = ClipDataset(store_root, num_frames=3, caption_dropout=0.5, identity_dropout=0.5, seed=1)
    keyed = [ds[epoch, 3] for epoch in range(4)]
    assert len({tuple(s["frame_indices"].tolist()) for s in keyed}) > 1  # epochs differ
    for epoch, sample in enumerate(keyed):
        ds.set_epoch(epoch)
        expected = ds[3]
        assert sample.keys() == expected.keys() and int(sample["index"]) == 3
        assert all(torch.equal(v, expected[k]) if isinstance(v, torch.Tensor) else v == expected[k]
                   for k, v in sample.items())


def _rank_shards(sampler, world_size):
    """What accelerate's ``split_batches`` gives each of ``world_size`` processes (as prepared loaders do)."""
    from accelerate.data_loader import BatchSamplerShard

    return [list(BatchSamplerShard(sampler, num_processes=world_size, process_index=r, split_batches=True))
            for r in range(world_size)]


@pytest.mark.parametrize("world_size", [1, 2, 3])
def test_rank_shards_disjoint_and_covering(store_root, world_size):
    buckets = ClipDataset(store_root).buckets
    sampler = BucketBatchSampler(buckets, batch_size=2 * world_size, seed=1, drop_last=True)
    sampler.set_epoch(2)
    per_rank = _rank_shards(sampler, world_size)
    assert len({len(batches) for batches in per_rank}) == 1  # every rank gets a batch at every step
    assert all(len(batch) == 2 for batches in per_rank for batch in batches)
    flat = [i for batches in per_rank for batch in batches for i in batch]
    dropped = len(buckets) - len(flat)
    assert len(flat) == len(set(flat))  # disjoint
    assert 0 <= dropped < 2 * world_size * len(set(buckets))  # only short global batches are dropped
    everything = BucketBatchSampler(buckets, batch_size=2 * world_size, seed=1)  # drop_last=False keeps them
    assert sorted(i for batch in everything for i in batch) == list(range(len(buckets)))


@pytest.mark.parametrize("world_size", [2, 3])
def test_global_batches_do_not_depend_on_the_process_count(store_root, world_size):
    """world_size ranks with batch b see, step by step, exactly what one process with batch b * world_size sees."""
    buckets = ClipDataset(store_root).buckets
    single = BucketBatchSampler(buckets, batch_size=2 * world_size, seed=3, drop_last=True)
    joined = [sum(parts, []) for parts in zip(*_rank_shards(single, world_size))]
    assert joined == list(single) and joined


def test_batches_never_mix_buckets_and_loader_works(store_root):
    ds = ClipDataset(store_root, num_frames=3, caption_dropout=0, identity_dropout=0)
    sampler = BucketBatchSampler(ds.buckets, batch_size=3, seed=0)
    for epoch in range(3):
        sampler.set_epoch(epoch)
        for batch in sampler:
            assert len({ds.buckets[i] for i in batch}) == 1
    loader = torch.utils.data.DataLoader(ds, batch_sampler=sampler, num_workers=0)
    for batch in loader:
        assert batch["video"].ndim == 5 and len(set(batch["bucket"])) == 1
        assert batch["ref_mask"].shape == (batch["video"].shape[0], 3)
    with pytest.raises(ValueError):
        BucketBatchSampler(ds.buckets, 0)


def test_buckets_smaller_than_a_batch_are_named_as_never_used():
    buckets = ["64x64"] * 5 + ["48x80"] * 2 + ["80x48"] * 4
    sampler = BucketBatchSampler(buckets, batch_size=4, seed=0, drop_last=True)
    assert sampler.unused_buckets() == {"48x80": 2}
    used = {buckets[i] for epoch in range(4) if not sampler.set_epoch(epoch) for batch in sampler for i in batch}
    assert used == {"64x64", "80x48"}  # what it names is what the batches never hold
    assert BucketBatchSampler(buckets, batch_size=4, drop_last=False).unused_buckets() == {}
