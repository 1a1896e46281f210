"""`idvid bench` under `accelerate launch`: the processes split the suite's items (one GPU each on
a GPU machine; here two CPU processes over gloo) and the main one writes one run, the same as
a single process writes."""

import csv
import json
import os
import socket
import subprocess
import sys

import pytest

from idvid.training.config import CONFIG_DIR  # the shipped DDP config (gloo on a machine without GPUs)

pytestmark = pytest.mark.slow

SUITE = """name: four
faces: [{{id: astronaut, photos: [{photo}]}}]
prompts: [{{id: nod, text: a woman nods}}, {{id: turn, text: a woman turns to her left}}]
seeds: [0, 1]
options: {{num_frames: 9, height: 64, width: 64, num_inference_steps: 1}}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _bench(out, suite, launch: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([*launch, "idvid.cli", "bench", str(suite), "--model", "tiny", "--out", str(out)],
                          capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=600)


def _rows(run) -> list[dict]:
    return [{k: v for k, v in row.items() if not k.endswith("_seconds")}
            for row in csv.DictReader((run / "metrics.csv").open())]


def test_two_processes_split_the_suite_and_write_what_one_process_writes(tmp_path, astronaut_path):
    suite = tmp_path / "four.yaml"
    suite.write_text(SUITE.format(photo=astronaut_path))
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--config_file",
              str(CONFIG_DIR / "accelerate" / "ddp.yaml"), "--num_processes", "2", "--mixed_precision", "no",
              "--main_process_port", str(_free_port()), "-m"]
    two = _bench(tmp_path / "two", suite, launch)
    assert two.returncode == 0, two.stderr[-3000:]
    assert two.stdout.count("4 generated, 4 evaluated") == 1  # one report, from the main process
    makers = [json.loads((tmp_path / "two" / "items" / f"astronaut__{p}__s{s}.generation.json").read_text())["process"]
              for p in ("nod", "turn") for s in (0, 1)]
    assert sorted(makers) == [0, 0, 1, 1]  # each process made half

    one = _bench(tmp_path / "one", suite, [sys.executable, "-m"])
    assert one.returncode == 0, one.stderr[-3000:]
    assert _rows(tmp_path / "two") == _rows(tmp_path / "one")
    for video in (tmp_path / "one" / "videos").glob("*.mp4"):
        assert video.read_bytes() == (tmp_path / "two" / "videos" / video.name).read_bytes()
    summary = json.loads((tmp_path / "two" / "summary.json").read_text())
    assert summary["metrics"]["temporal_flicker"]["n"] == 4
