"""The run's batches: epochs in order with their epoch in every key, the same whichever worker
loads them, and a loader that resumes at a batch without loading the ones before it."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from idvid.data.buckets import BucketBatchSampler
from idvid.loop.accelerator import make_accelerator
from idvid.loop.data import RunBatches, batches_from, collate, make_loader


def test_the_loop_package_imports_no_other_part_of_idvid():
    code = ("import json, sys, idvid; before = set(sys.modules); "
            "import idvid.loop.accelerator, idvid.loop.checkpoints, idvid.loop.data, idvid.loop.logs; "
            "print(json.dumps(sorted(m for m in set(sys.modules) - before if m.startswith('idvid.'))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(done.stdout) == ["idvid.atomic", "idvid.errors", "idvid.loop", "idvid.loop.accelerator",
                                       "idvid.loop.checkpoints", "idvid.loop.data", "idvid.loop.logs"]


def test_run_batches_are_the_epochs_in_order_with_their_epoch():
    sampler = BucketBatchSampler(["a"] * 5 + ["b"] * 4, batch_size=2, seed=1, drop_last=True)  # 4 batches an epoch
    run = RunBatches(sampler, total=10)
    epochs = []
    for epoch in range(3):
        sampler.set_epoch(epoch)
        epochs += [[(epoch, i) for i in batch] for batch in sampler]
    assert len(run) == 10 and list(run) == epochs[:10]
    assert epochs[0] != epochs[4]  # each epoch its own shuffle
    with pytest.raises(ValueError, match="no batch"):
        RunBatches(BucketBatchSampler(["a"], batch_size=2, drop_last=True), total=1)


class Keyed:
    """(epoch, index) -> random values from that key alone, and the loading process's id."""

    def __len__(self):
        return 6

    def __getitem__(self, key):
        epoch, index = key
        values = np.random.default_rng([epoch, index]).normal(size=3)
        info = torch.utils.data.get_worker_info()
        return {"values": torch.from_numpy(values), "index": torch.tensor(index),
                "worker": -1 if info is None else info.id}


def _load(workers: int, start: int = 0) -> list[dict]:
    accelerator = make_accelerator()
    run = RunBatches(BucketBatchSampler(["a"] * 6, batch_size=2, seed=0), total=9)  # 3 epochs
    return list(batches_from(accelerator, make_loader(accelerator, Keyed(), run, workers), start))


def test_batches_do_not_depend_on_the_worker_and_resume_without_loading_what_they_skip(monkeypatch):
    inline, workers = _load(0), _load(2)
    assert {w for b in inline for w in b["worker"]} == {-1} and {w for b in workers for w in b["worker"]} == {0, 1}
    assert len(inline) == len(workers) == 9
    for a, b in zip(inline, workers):
        assert torch.equal(a["index"], b["index"]) and torch.equal(a["values"], b["values"])
    loaded = []
    original = Keyed.__getitem__
    monkeypatch.setattr(Keyed, "__getitem__", lambda self, key: loaded.append(key) or original(self, key))
    resumed = _load(0, start=5)
    assert len(loaded) == 4 * 2 and {epoch for epoch, _ in loaded} == {1, 2}  # batches 5..8 only
    assert all(torch.equal(a["values"], b["values"]) for a, b in zip(inline[5:], resumed, strict=True))


def test_collate_stacks_tensors_and_lists_the_rest():
    batch = collate([{"x": torch.ones(2), "caption": "a"}, {"x": torch.zeros(2), "caption": "b"}])
    assert torch.equal(batch["x"], torch.tensor([[1.0, 1.0], [0.0, 0.0]])) and batch["caption"] == ["a", "b"]
