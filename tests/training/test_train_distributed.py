"""Two processes (DDP over gloo, launched by `accelerate launch`) train as one process with the
same global batch does."""

import os
import socket
import subprocess
import sys

import pytest
import yaml
from safetensors.torch import load_file

from idvid.training.config import CONFIG_DIR, from_dict
from idvid.training.trainer import Trainer

pytestmark = pytest.mark.slow
ACCELERATE_CONFIGS = CONFIG_DIR / "accelerate"


def _values(store, batch_size):
    return {"model": "tiny", "data": {"root": str(store), "num_frames": 5, "identity_dropout": 0.3},
            "train": {"trainable": "all", "steps": 3, "batch_size": batch_size, "lr": 1e-3, "checkpoint_every": 3,
                      "ema_decay": 0.9, "seed": 0}}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_match_one_process_with_the_same_global_batch(store, tmp_path):
    # 1. One process, batch 2, in this process.
    single = Trainer(from_dict(_values(store, batch_size=2)), tmp_path / "single")
    single.train(progress=False)
    # 2. Two processes, batch 1 each, through the launcher users run.
    config = tmp_path / "ddp.yaml"
    config.write_text(yaml.safe_dump(_values(store, batch_size=1)))
    command = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(ACCELERATE_CONFIGS / "ddp.yaml"),
               "--num_processes", "2", "--mixed_precision", "no", "--main_process_port", str(_free_port()),
               "-m", "idvid.cli", "train", str(config), "--out", str(tmp_path / "ddp")]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    # 3. The same weights, to float tolerance (gradients are summed in another order).
    one = load_file(str(tmp_path / "single" / "ckpt-3" / "model.safetensors"))
    two = load_file(str(tmp_path / "ddp" / "ckpt-3" / "model.safetensors"))
    assert one.keys() == two.keys()
    start = {k: v for k, v in Trainer(from_dict(_values(store, 2)), tmp_path / "fresh").trainable_state().items()}
    moved = max((one[k] - start[k]).abs().max().item() for k in one)
    worst = max((one[k] - two[k]).abs().max().item() for k in one)
    print(f"largest weight change {moved:.3g}, largest 1-vs-2-process difference {worst:.3g}")
    assert moved > 1e-3  # training really changed the weights...
    assert worst < 0.01 * moved  # ...and both runs changed them alike (measured: 3.9e-6 vs 3e-3)


@pytest.mark.parametrize("name", ["ddp", "fsdp", "deepspeed_zero2"])
def test_shipped_accelerate_configs_load(name):
    from accelerate.commands.config.config_args import load_config_from_file

    config = load_config_from_file(str(ACCELERATE_CONFIGS / f"{name}.yaml"))
    assert config.distributed_type.name == {"ddp": "MULTI_GPU", "fsdp": "FSDP", "deepspeed_zero2": "DEEPSPEED"}[name]
    assert config.mixed_precision == "bf16"


def test_sharded_engines_refuse_what_they_cannot_do():
    from idvid.errors import ConfigError
    from idvid.training.config import TrainSection
    from idvid.training.trainer import check_engine

    with pytest.raises(ConfigError, match="EMA"):
        check_engine("FSDP", TrainSection(ema_decay=0.999))
    with pytest.raises(ConfigError, match="DeepSpeed config"):
        check_engine("DEEPSPEED", TrainSection(gradient_accumulation_steps=4))
    check_engine("MULTI_GPU", TrainSection(ema_decay=0.999, gradient_accumulation_steps=4))  # DDP does both
