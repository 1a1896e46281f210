"""The files of a bench run folder: names, metrics.csv rows and small JSON/text helpers."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from idvid.atomic import atomic_output

RUN_FILE, METRICS_FILE, SUMMARY_FILE, REPORT_FILE = "run.json", "metrics.csv", "summary.json", "report.html"
VIDEOS_DIR, ITEMS_DIR = "videos", "items"
HEAD_COLUMNS = ("item_id", "face", "prompt_id", "prompt", "seed", "tags")
TAIL_COLUMNS = ("gen_seconds", "eval_seconds")


def read_rows(path: Path) -> dict[str, dict[str, str]]:
    """metrics.csv -> item id -> row (cells as written: strings, "" for not measured)."""
    if not path.is_file():
        return {}
    with open(path, newline="", encoding="utf-8") as handle:
        return {row["item_id"]: row for row in csv.DictReader(handle) if row.get("item_id")}


def write_rows(path: Path, rows: dict[str, dict[str, str]], order: Sequence[str] = ()) -> None:
    """Write metrics.csv atomically: rows in ``order`` first, columns head, metrics, tail."""
    ordered = [rows[i] for i in order if i in rows] + [r for i, r in rows.items() if i not in set(order)]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[*HEAD_COLUMNS, *metric_columns(ordered), *TAIL_COLUMNS],
                            restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(ordered)
    write_text(path, buffer.getvalue())


def metric_columns(rows: Sequence[dict[str, str]]) -> list[str]:
    """The metric output columns of metrics.csv rows, in order of first appearance."""
    return list(dict.fromkeys(k for r in rows for k in r if k not in HEAD_COLUMNS + TAIL_COLUMNS))


def column(rows: Sequence[dict[str, str]], key: str) -> np.ndarray:
    """One CSV column as float64 (NaN for empty cells)."""
    return np.array([number(r.get(key, "")) for r in rows], dtype=np.float64)


def cell(value, digits: int | None = None) -> str:
    """A CSV cell: repr of a finite float (exact round trip), "" for None / NaN."""
    if value is None or not math.isfinite(float(value)):
        return ""
    return repr(round(float(value), digits) if digits is not None else float(value))


def number(cell: str) -> float:
    try:
        return float(cell) if cell not in ("", None) else math.nan
    except ValueError:
        return math.nan


def read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_text(path: Path, text: str) -> None:
    with atomic_output(path, overwrite=True) as tmp:
        tmp.write_text(text, encoding="utf-8")


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def item_file(out_dir: Path, item_id: str, kind: str) -> Path:
    return out_dir / ITEMS_DIR / f"{item_id}.{kind}"
