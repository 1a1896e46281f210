"""Each engine's memory estimate against the peak a real `idvid generate` reaches.

    python benchmarks/memory_estimate.py [--cases nano:256x256x73 tiny:512x512x17 ...]

Every case runs as a fresh CLI process (the way a user runs it); its peak resident memory
comes from the kernel (ru_maxrss of the finished child), the estimate from the engine's plan,
which reads configs only. Prints both and their ratio (estimate / measured).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT / "assets" / "astronaut.jpg"
CASES = [
    "nano:256x256x73", "nano:512x512x240", "nano:1024x1024x48", "nano:2048x2048x48",
    "tiny:256x256x17", "tiny:512x512x33", "tiny:1024x1024x17",
    "tiny-cogvideox:256x256x17", "tiny-cogvideox:512x512x33", "tiny-cogvideox:1024x1024x17",
    "tiny-vace:256x256x17", "tiny-vace:512x512x33", "tiny-vace:1024x1024x17",
    "tiny-consisid:256x256x17", "tiny-consisid:512x512x33", "tiny-consisid:1024x1024x17",
]


def measure(model: str, height: int, width: int, frames: int, out: Path) -> int:
    """Peak RSS in bytes of one fresh `idvid generate` process."""
    command = [sys.executable, "-m", "idvid.cli", "generate", "--face", str(PHOTO), "--prompt", "a woman nods",
               "--model", model, "--height", str(height), "--width", str(width), "--frames", str(frames),
               "--out", str(out), "--overwrite"]
    subprocess.run(command, check=True, capture_output=True)
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # the only child of this interpreter


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", nargs="+", default=CASES, metavar="MODEL:HxWxT")
    args = parser.parse_args()
    from idvid.engines import GenerationOptions, engine_kind, engine_package

    print(f"{'model':<16} {'size':>16} {'estimate':>9} {'measured':>9} {'ratio':>6}")
    with tempfile.TemporaryDirectory() as tmp:
        for case in args.cases:
            model, size = case.split(":")
            height, width, frames = (int(v) for v in size.split("x"))
            options = GenerationOptions(num_frames=frames, height=height, width=width)
            estimate = engine_package(engine_kind(model)).plan(model, options).memory_bytes
            # A fresh interpreter per case: ru_maxrss of children only ever grows.
            peak = int(subprocess.run([sys.executable, __file__, "--measure", model, size, tmp],
                                      check=True, capture_output=True, text=True).stdout)
            print(f"{model:<16} {size:>16} {estimate / 2**30:8.2f}G {peak / 2**30:8.2f}G {estimate / peak:6.2f}")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--measure":
        model, size, folder = sys.argv[2:]
        h, w, t = (int(v) for v in size.split("x"))
        print(measure(model, h, w, t, Path(folder) / "out.mp4"))
    else:
        main()
