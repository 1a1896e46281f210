"""How fast the default engine makes a take, in each of its modes, on this CPU.

    python benchmarks/nano_speed.py [--photo assets/astronaut.jpg] [--repeats 3] [--quick]

Modes (all 512x512 at 24 fps): text 10 s and 60 s, a 10 s driving video, about 10 s of speech.
For each, the median of ``--repeats`` runs of:

- a fresh `idvid generate` process, as a new user runs it (imports, model loads, face
  analysis, motion, drawing, encoding, the mp4 on disk), with its peak memory;
- the same generation in this process with the engine loaded and warm (API: engine(...,
  output_type="stream").save(path));
- start-up: the difference, what a fresh process pays before and around the work.

Targets (issue 17): 10 s take <= 10 s fresh; 60 s take <= 45 s; driving video and speech
within 1.5x of the text take. The driving clip and the speech are made here first (a nano take
of another photo; espeak-ng), and are not timed.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROMPT = "a woman turns to her left, then smiles, on a beach"
SIZE, FPS = 512, 24
SPEECH = ("Good morning. Today I will tell you about the weather on the coast, where the wind is "
          "strong and the sea is grey, and about the small boats that wait in the harbour for a calmer day.")


def _inputs(folder: Path) -> dict[str, list[str]]:
    """The extra CLI arguments of each mode (the driving clip and the speech are made here)."""
    from idvid.engines import load_engine
    from idvid.engines.nano.inputs import sound_seconds
    from idvid.engines.nano.say import spoken_line

    engine = load_engine("nano")
    engine.set_progress_bar_config(disable=True)
    clip = folder / "driving.mp4"
    engine(prompt="a woman turns left and right, nods and talks", faces=[str(ROOT / "assets" / "grace_hopper.jpg")],
           num_frames=10 * FPS, height=SIZE, width=SIZE, fps=FPS, output_type="stream").save(clip)
    speech = spoken_line(SPEECH)
    return {"text 10 s": ["--seconds", "10"], "text 60 s": ["--seconds", "60"],
            "drive 10 s": ["--drive", str(clip)], f"speech {sound_seconds(speech):.1f} s": ["--audio", str(speech)]}


def _api_kwargs(extra: list[str]) -> dict:
    """The engine's keyword arguments for a mode's CLI arguments."""
    flag, value = extra
    if flag == "--seconds":
        return {"num_frames": round(float(value) * FPS)}
    return {"drive": value} if flag == "--drive" else {"audio": value}


def _fresh(photo: str, extra: list[str], out: Path) -> tuple[float, float]:
    """(wall seconds, peak GB) of one fresh `idvid generate` process."""
    command = [sys.executable, "-m", "idvid.cli", "generate", "--face", photo, "--prompt", PROMPT,
               "--height", str(SIZE), "--width", str(SIZE), "--fps", str(FPS), "--out", str(out), "--overwrite", *extra]
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"idvid generate failed: {child.stderr.read().decode()[-2000:]}")
    child.stderr.close()
    return seconds, usage.ru_maxrss / 2**20


def _in_process(engine, photo: str, extra: list[str], out: Path) -> float:
    start = time.perf_counter()
    engine(prompt=PROMPT, faces=[photo], height=SIZE, width=SIZE, fps=FPS, output_type="stream",
           **_api_kwargs(extra)).save(out, overwrite=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photo", default=str(ROOT / "assets" / "astronaut.jpg"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="the 10 s text take only")
    args = parser.parse_args()

    from idvid.engines import load_engine

    logging.getLogger("idvid").setLevel(logging.ERROR)  # the driven take says what it ignores, each run
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        modes = _inputs(folder)
        if args.quick:
            modes = {"text 10 s": modes["text 10 s"]}
        engine = load_engine("nano")
        engine.set_progress_bar_config(disable=True)
        engine(prompt=PROMPT, faces=[args.photo], num_frames=5)  # every model loaded once
        out = folder / "take.mp4"
        rows = {}
        for name, extra in modes.items():
            fresh = [_fresh(args.photo, extra, out) for _ in range(args.repeats)]
            inside = [_in_process(engine, args.photo, extra, out) for _ in range(args.repeats)]
            rows[name] = (statistics.median(s for s, _ in fresh), statistics.median(inside), max(m for _, m in fresh))
            wall, warm, peak = rows[name]
            print(f"{name:<11} fresh {wall:6.2f} s (runs {', '.join(f'{s:.2f}' for s, _ in fresh)})   "
                  f"in process {warm:6.2f} s   start-up {wall - warm:5.2f} s   peak {peak:.2f} GB", flush=True)
    base = rows["text 10 s"][0]
    print(f"targets: text 10 s {base:.2f} s (<= 10 s)", end="")
    if "text 60 s" in rows:
        speech = next(name for name in rows if name.startswith("speech"))
        print(f"; text 60 s {rows['text 60 s'][0]:.2f} s (<= 45 s); drive {rows['drive 10 s'][0] / base:.2f}x, "
              f"speech {rows[speech][0] / base:.2f}x of text 10 s (<= 1.5x)", end="")
    print()


if __name__ == "__main__":
    main()
