"""Training logs and progress.

:class:`TrainLog`: ``OUT/train_log.csv`` always, TensorBoard event files in ``OUT/logs`` when
installed. The CSV is the one a script or a test reads; its columns are fixed when the first row
is written (later rows may add no new keys). TensorBoard gets every scalar, validation included.
A run that starts at step ``first_step`` (0, or the checkpoint it resumed) drops what an
earlier run logged after it, in both, so no step is logged twice.
:class:`Progress`: the progress bar, with throughput.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

from idvid.atomic import atomic_output


class TrainLog:
    def __init__(self, out: Path, enabled: bool = True) -> None:
        self.out = Path(out)
        self.path = self.out / "train_log.csv"
        self.enabled = enabled
        self._columns: list[str] | None = None
        self._writer = None
        self._started = False
        self.first_step = 0  # the step the run starts from; a resume sets it

    def scalars(self, step: int, values: dict[str, float], prefix: str = "train") -> None:
        """One CSV row (train scalars only) and the TensorBoard scalars ``prefix/name``."""
        if not self.enabled:
            return
        if not self._started:
            self._start()
        if self._writer is not None:
            for name, value in values.items():
                self._writer.add_scalar(f"{prefix}/{name}", value, step)
            self._writer.flush()
        if prefix == "train":
            self._row(step, values)

    def _start(self) -> None:
        """At the first scalar: forget what an earlier run logged after ``first_step``."""
        self._started = True
        self.out.mkdir(parents=True, exist_ok=True)
        if self.path.is_file():
            lines = self.path.read_text().splitlines()
            kept = lines[:1] + [line for line in lines[1:] if int(line.split(",", 1)[0]) <= self.first_step]
            if len(kept) > 1:
                self._columns = lines[0].split(",")[1:]
                with atomic_output(self.path, overwrite=True) as tmp:
                    tmp.write_text("\n".join(kept) + "\n")
            else:
                self.path.unlink()
        try:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(str(self.out / "logs"), purge_step=self.first_step + 1)
        except ImportError:  # tensorboard is in the `train` extra
            self._writer = None

    def _row(self, step: int, values: dict[str, float]) -> None:
        if self._columns is None:
            self._columns = list(values)
            with self.path.open("w", newline="") as f:
                csv.writer(f).writerow(["step", *self._columns])
        with self.path.open("a", newline="") as f:
            csv.writer(f).writerow([step, *(f"{values.get(c, float('nan')):.6g}" for c in self._columns)])

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


class Progress:
    """A progress bar over optimizer steps (tqdm shows it/s and the ETA) that also measures
    samples/s since it started; shown only when ``enabled`` (e.g. on the main process)."""

    def __init__(self, total: int | None, initial: int, samples_per_step: int, enabled: bool = True,
                 desc: str = "train") -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, initial=initial, disable=not enabled, desc=desc, unit="step",
                        dynamic_ncols=True, mininterval=1.0)
        self.samples_per_step, self.steps = samples_per_step, 0
        self.started, self.ended = time.perf_counter(), None

    @property
    def seconds(self) -> float:
        """Since the start, until :meth:`close`."""
        return (self.ended or time.perf_counter()) - self.started

    @property
    def samples_per_s(self) -> float:
        return self.steps * self.samples_per_step / max(self.seconds, 1e-9)

    def update(self, **postfix) -> None:
        """One step done; ``postfix``: values to show beside the bar (floats with 4 digits)."""
        self.steps += 1
        self.bar.update(1)
        shown = {k: f"{v:.4f}" if isinstance(v, float) else v for k, v in postfix.items()}
        self.bar.set_postfix(**shown, samples_s=f"{self.samples_per_s:.2f}")

    def close(self) -> None:
        self.ended = time.perf_counter()
        self.bar.close()
