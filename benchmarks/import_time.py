"""How long `import idvid` takes in a fresh interpreter (target: under 0.5 s).

Prints the median over several runs, against a bare interpreter start measured in the
same loop, so the number is what idvid itself adds.
"""

import statistics
import subprocess
import sys
import time


def _run(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - start


def main(repeats: int = 7) -> None:
    bare, with_idvid = [], []
    for _ in range(repeats):
        bare.append(_run("pass"))
        with_idvid.append(_run("import idvid; idvid.__version__"))
    b, i = statistics.median(bare), statistics.median(with_idvid)
    print(f"python start: {b * 1000:.0f} ms   python + import idvid: {i * 1000:.0f} ms   "
          f"import idvid alone: {(i - b) * 1000:.0f} ms  (median of {repeats})")


if __name__ == "__main__":
    main()
