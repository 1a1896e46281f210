"""Checkpoints through accelerator.save_state: two processes (DDP over gloo, the CPU stand-in for the
sharded engines, which accelerate runs on GPUs only) save, resume and go on as if never stopped."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from idvid.training.config import CONFIG_DIR  # the shipped DDP config (gloo on a machine without GPUs)

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_save_and_resume_exactly(tmp_path):
    script = Path(__file__).with_name("two_process_resume.py")
    command = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(CONFIG_DIR / "accelerate" / "ddp.yaml"),
               "--num_processes", "2", "--mixed_precision", "no", "--main_process_port", str(_free_port()),
               str(script), str(tmp_path)]
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"},
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    straight, resumed = tmp_path / "straight" / "ckpt-4", tmp_path / "resumed" / "ckpt-4"
    # every process's RNG state is in; only the trainable layer's weights; nothing half-written left
    assert sorted(p.name for p in straight.iterdir()) == [
        "custom_checkpoint_0.pkl", "model.safetensors", "optimizer.bin", "random_states_0.pkl",
        "random_states_1.pkl", "scheduler.bin"]
    assert set(load_file(str(straight / "model.safetensors"))) == {"2.weight", "2.bias"}
    assert not [p for p in tmp_path.rglob(".*")]
    # the resumed run ends where the uninterrupted one does: weights, EMA, optimizer and schedule
    a, b = load_file(str(straight / "model.safetensors")), load_file(str(resumed / "model.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    start = load_file(str(tmp_path / "straight" / "ckpt-2" / "model.safetensors"))
    assert not torch.equal(a["2.weight"], start["2.weight"])  # steps 3 and 4 trained
    for name in ("optimizer.bin", "custom_checkpoint_0.pkl", "scheduler.bin"):
        x, y = (torch.load(folder / name, weights_only=False) for folder in (straight, resumed))
        assert _equal(x, y), name


def _equal(x, y) -> bool:
    if isinstance(x, torch.Tensor):
        return isinstance(y, torch.Tensor) and torch.equal(x, y)
    if isinstance(x, dict):
        return isinstance(y, dict) and x.keys() == y.keys() and all(_equal(x[k], y[k]) for k in x)
    if isinstance(x, (list, tuple)):
        return type(x) is type(y) and len(x) == len(y) and all(_equal(a, b) for a, b in zip(x, y))
    return x == y
