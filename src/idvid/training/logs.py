"""Training logs: ``OUT/train_log.csv`` always, TensorBoard event files in ``OUT/logs`` when installed.

The CSV is the one a script or a test reads; its columns are fixed when the first row is written
(later rows may add no new keys). TensorBoard gets every scalar, validation included.
"""

from __future__ import annotations

import csv
from pathlib import Path


class TrainLog:
    def __init__(self, out: Path, enabled: bool = True) -> None:
        self.path = Path(out) / "train_log.csv"
        self.enabled = enabled
        self._columns: list[str] | None = None
        self._writer = None
        if enabled:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                from torch.utils.tensorboard import SummaryWriter

                self._writer = SummaryWriter(str(Path(out) / "logs"))
            except ImportError:  # tensorboard is in the `train` extra
                self._writer = None

    def scalars(self, step: int, values: dict[str, float], prefix: str = "train") -> None:
        """One CSV row (train scalars only) and the TensorBoard scalars ``prefix/name``."""
        if not self.enabled:
            return
        if self._writer is not None:
            for name, value in values.items():
                self._writer.add_scalar(f"{prefix}/{name}", value, step)
            self._writer.flush()
        if prefix == "train":
            self._row(step, values)

    def _row(self, step: int, values: dict[str, float]) -> None:
        if self._columns is None:
            existing = self.path.is_file() and self.path.stat().st_size > 0
            self._columns = (self.path.read_text().splitlines()[0].split(",")[1:] if existing
                             else list(values))
            if not existing:
                with self.path.open("w", newline="") as f:
                    csv.writer(f).writerow(["step", *self._columns])
        with self.path.open("a", newline="") as f:
            csv.writer(f).writerow([step, *(f"{values.get(c, float('nan')):.6g}" for c in self._columns)])

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
