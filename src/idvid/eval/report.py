"""One self-contained HTML report for one bench run, or several side by side.

``report.html`` holds inline CSS, plots and frame strips as base64 PNG data URIs, and
``<video src="videos/...">`` tags with relative paths, so its folder can be zipped and
opened anywhere. Videos already under the report's folder (a run's own report) are
referenced where they are; others (a ``--compare`` report) are hard-linked, or copied, into
``videos/<run label>/`` next to the report.

Sections: the runs (suite, model, options); a summary table (mean +- 95% CI half-width per
metric, an arrow for its better direction, one column per run, the best run in bold); plots
(a bar chart per metric across runs with CI error bars, FaceSim against motion amplitude
with one colour per run); skipped metrics; per-tag means; metric definitions (collapsed);
then one row per item: its prompt and, per run, a frame strip, the video and its values.
All user text (prompts, ids, paths, notes) is escaped.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import numpy as np

from idvid.atomic import atomic_output
from idvid.eval.bench import BenchError
from idvid.eval.bench_summary import summarize_run
from idvid.eval.run_files import METRICS_FILE, RUN_FILE, VIDEOS_DIR, column, read_rows

SCATTER_X, SCATTER_Y = "motion_amplitude", "facesim"
_ARROWS = {"higher": "\u2191", "lower": "\u2193", None: ""}
_STRIP_FRAMES, _STRIP_HEIGHT = 8, 72

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#222;max-width:1600px}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 8px;vertical-align:top}
th{background:#f5f5f5;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}
.best{font-weight:bold}.muted{color:#888}.scroll{overflow-x:auto}
table.m td{border:none;padding:0 6px;font-size:.85em}
.item video{display:block;max-width:320px;margin-top:4px}.item img{display:block;max-width:100%}
details{margin:8px 0}summary{cursor:pointer;font-weight:bold}pre{white-space:pre-wrap;font-size:.85em}
.tag{display:inline-block;background:#eef;border-radius:3px;padding:0 4px;margin-right:3px;font-size:.8em}
"""


@dataclass
class _Run:
    label: str
    dir: Path
    config: dict
    summary: dict
    rows: dict[str, dict[str, str]]


def write_report(run_dirs: Sequence[str | Path], out_html: str | Path) -> Path:
    """Write one report.html over one or several bench run folders; returns its path.

    Raises BenchError when a folder is not a bench run (no run.json / metrics.csv).
    """
    out_html = Path(out_html).expanduser()
    out_dir = out_html.parent
    runs = _load_runs([Path(d).expanduser() for d in run_dirs])
    keys = list(dict.fromkeys(k for run in runs for k in run.summary["metrics"]))
    title = "idvid bench: " + " vs ".join(run.label for run in runs)
    body = [
        f"<h1>{_e(title)}</h1>",
        _runs_section(runs),
        _summary_section(runs, keys),
        _plots_section(runs, keys),
        _skipped_section(runs),
        _tags_section(runs, keys),
        _definitions_section(),
        _items_section(runs, keys, out_dir),
    ]
    page = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
            f"<style>{_CSS}</style></head>\n<body>\n" + "\n".join(body) + "\n</body></html>\n")
    with atomic_output(out_html, overwrite=True) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return out_html


# ---- loading ----------------------------------------------------------------------------------


def _load_runs(dirs: list[Path]) -> list[_Run]:
    if not dirs:
        raise BenchError("a report needs at least one run folder")
    runs, used = [], set()
    for run_dir in dirs:
        if not (run_dir / RUN_FILE).is_file() or not (run_dir / METRICS_FILE).is_file():
            raise BenchError(f"{run_dir} is not a bench run (no {RUN_FILE} and {METRICS_FILE})")
        try:
            config = json.loads((run_dir / RUN_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise BenchError(f"{run_dir / RUN_FILE} is unreadable: {err}") from None
        label = re.sub(r"[^A-Za-z0-9_.-]+", "_", run_dir.resolve().name) or "run"
        base, n = label, 2
        while label in used:
            label, n = f"{base}-{n}", n + 1
        used.add(label)
        runs.append(_Run(label, run_dir, config, summarize_run(run_dir), read_rows(run_dir / METRICS_FILE)))
    return runs


# ---- sections ---------------------------------------------------------------------------------


def _runs_section(runs: list[_Run]) -> str:
    rows = []
    for run in runs:
        s, c = run.summary, run.config
        options = ", ".join(f"{k}={v}" for k, v in (c.get("options") or {}).items()) or "model defaults"
        timing = s.get("timing", {})
        pooled = s.get("face_fid_pooled")
        rows.append("<tr>" + "".join(f"<td>{_e(v)}</td>" for v in (
            run.label, s.get("suite"), s.get("model"), f"{s['items']['done']}/{s['items']['total']}", options,
            _fmt(timing.get("generation_seconds_total"), 1), _fmt(timing.get("eval_seconds_total"), 1),
            "n/a" if not pooled else f"{pooled['value']:.3f} ({pooled['n_frames']} faces)",
            c.get("idvid_version"), c.get("created"))) + "</tr>")
    head = ("run", "suite", "model", "items", "options", "generation s", "eval s", "pooled face FID",
            "idvid", "created")
    return _table("Runs", head, rows)


def _summary_section(runs: list[_Run], keys: list[str]) -> str:
    rows = []
    for key in keys:
        stats = [run.summary["metrics"].get(key) for run in runs]
        direction = _direction(runs, key)
        best = _best([s["mean"] if s else None for s in stats], direction) if len(runs) > 1 else None
        cells = []
        for i, s in enumerate(stats):
            if not s or s["mean"] is None:
                cells.append('<td class="num muted">n/a</td>')
                continue
            half = "" if s["ci95"] is None else f" \u00b1 {(s['ci95'][1] - s['ci95'][0]) / 2:.4f}"
            klass = "num best" if i == best else "num"
            cells.append(f'<td class="{klass}">{s["mean"]:.4f}{half} <span class="muted">(n={s["n"]})</span></td>')
        rows.append(f"<tr><th>{_e(key)} {_ARROWS[direction]}</th>{''.join(cells)}</tr>")
    ci = runs[0].summary.get("ci_method", "")
    note = (f'<p class="muted">mean \u00b1 half-width of the 95% confidence interval ({_e(ci)}); '
            "\u2191 higher is better, \u2193 lower is better; n = items with a value.</p>")
    return _table("Summary", ("metric", *(r.label for r in runs)), rows) + note


def _plots_section(runs: list[_Run], keys: list[str]) -> str:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return '<h2>Plots</h2><p class="muted">matplotlib is not installed: pip install \'idvid[eval]\'</p>'
    images = [_bars(Figure, runs, keys), _scatter(Figure, runs)]
    return "<h2>Plots</h2>\n" + "\n".join(f'<img alt="{_e(alt)}" src="{src}">' for alt, src in images if src)


def _bars(Figure, runs: list[_Run], keys: list[str]) -> tuple[str, str | None]:
    shown = [k for k in keys if any((run.summary["metrics"].get(k) or {}).get("mean") is not None for run in runs)]
    if not shown:
        return "no metric values", None
    cols = min(4, len(shown))
    nrows = math.ceil(len(shown) / cols)
    fig = Figure(figsize=(3.2 * cols, 2.4 * nrows + 0.4), layout="constrained")
    axes = fig.subplots(nrows, cols, squeeze=False).ravel()
    for ax, key in zip(axes, shown):
        means, errors = [], []
        for run in runs:
            s = run.summary["metrics"].get(key) or {}
            means.append(s.get("mean") if s.get("mean") is not None else np.nan)
            ci = s.get("ci95")
            errors.append((ci[1] - ci[0]) / 2 if ci else 0.0)
        colours = [f"C{i % 10}" for i in range(len(runs))]
        bars = ax.bar(range(len(runs)), means, yerr=errors, color=colours, capsize=3)
        ax.set_title(f"{key} {_ARROWS[_direction(runs, key)]}", fontsize=9)
        ax.set_xticks([])
        ax.tick_params(labelsize=7)
    for ax in axes[len(shown):]:
        ax.set_visible(False)
    fig.legend(bars, [run.label for run in runs], loc="outside lower center", ncols=min(len(runs), 4), fontsize=8)
    return "mean per metric with 95% CI", _png(fig)


def _scatter(Figure, runs: list[_Run]) -> tuple[str, str | None]:
    fig = Figure(figsize=(5, 4), layout="constrained")
    ax = fig.subplots()
    plotted = 0
    for i, run in enumerate(runs):
        rows = list(run.rows.values())
        x, y = column(rows, SCATTER_X), column(rows, SCATTER_Y)
        keep = np.isfinite(x) & np.isfinite(y)
        plotted += int(keep.sum())
        ax.scatter(x[keep], y[keep], color=f"C{i % 10}", label=run.label, s=18, alpha=0.8)
    if not plotted:
        ax.text(0.5, 0.5, f"no item has both {SCATTER_Y} and {SCATTER_X}", ha="center", va="center",
                transform=ax.transAxes, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    else:
        ax.legend(fontsize=8)
        ax.locator_params(nbins=5)
    ax.set_xlabel(f"{SCATTER_X} (more motion \u2192)")
    ax.set_ylabel(f"{SCATTER_Y} (identity \u2192)")
    ax.set_title("identity vs motion, one point per video", fontsize=10)
    return "FaceSim vs motion", _png(fig)


def _skipped_section(runs: list[_Run]) -> str:
    items = []
    for run in runs:
        for name, reason in run.summary.get("skipped", {}).items():
            prefix = f"{_e(run.label)}: " if len(runs) > 1 else ""
            items.append(f"<li>{prefix}<b>{_e(name)}</b>: {_e(reason)}</li>")
    return "<h2>Skipped metrics</h2>\n" + (f"<ul>{''.join(items)}</ul>" if items else "<p>none</p>")


def _tags_section(runs: list[_Run], keys: list[str]) -> str:
    parts = ["<h2>Means by tag</h2>"]
    for run in runs:
        by_tag = run.summary.get("by_tag", {})
        if not by_tag:
            continue
        rows = [f"<tr><th>{_e(tag)}</th><td class=\"num\">{g['n_items']}</td>"
                + "".join(f'<td class="num">{_fmt(g["means"].get(k), 4)}</td>' for k in keys) + "</tr>"
                for tag, g in by_tag.items()]
        table = _table(None, ("tag", "items", *keys), rows)
        parts.append(f"<details{' open' if len(runs) == 1 else ''}><summary>{_e(run.label)}</summary>"
                     f'<div class="scroll">{table}</div></details>')
    return "\n".join(parts)


def _definitions_section() -> str:
    from idvid.eval.evaluate import metric_definitions

    entries = "".join(f"<dt><b>{_e(name)}</b></dt><dd><pre>{_e(text)}</pre></dd>"
                      for name, text in metric_definitions().items())
    return f"<details><summary>Metric definitions</summary><dl>{entries}</dl></details>"


def _items_section(runs: list[_Run], keys: list[str], out_dir: Path) -> str:
    ids = list(dict.fromkeys(i for run in runs for i in run.rows))
    head = "<tr><th>item</th>" + "".join(f"<th>{_e(run.label)}</th>" for run in runs) + "</tr>"
    rows = []
    for item_id in ids:
        first = next(run.rows[item_id] for run in runs if item_id in run.rows)
        tags = "".join(f'<span class="tag">{_e(t)}</span>' for t in first.get("tags", "").split(";") if t)
        cells = [f"<td><b>{_e(item_id)}</b><br>face {_e(first.get('face'))}, seed {_e(first.get('seed'))}"
                 f"<br><q>{_e(first.get('prompt'))}</q><br>{tags}</td>"]
        for run in runs:
            row = run.rows.get(item_id)
            cells.append(_item_cell(run, item_id, row, keys, out_dir) if row else '<td class="muted">not run</td>')
        rows.append(f'<tr class="item">{"".join(cells)}</tr>')
    return f'<h2>Items</h2>\n<div class="scroll"><table>{head}\n' + "\n".join(rows) + "</table></div>"


def _item_cell(run: _Run, item_id: str, row: dict, keys: list[str], out_dir: Path) -> str:
    from idvid.errors import VideoError
    from idvid.video import frame_strip, read_video

    video = run.dir / VIDEOS_DIR / f"{item_id}.mp4"
    media = '<p class="muted">video missing</p>'
    if video.is_file():
        try:
            strip = frame_strip(read_video(video).frames, n=_STRIP_FRAMES, height=_STRIP_HEIGHT)
            src = _video_src(video, out_dir, run.label)
            media = (f'<img alt="frames of {_e(item_id)}" src="{_png_uri(strip)}">'
                     f'<video src="{_e(src)}" controls loop muted preload="metadata"></video>')
        except VideoError as err:
            media = f'<p class="muted">{_e(err)}</p>'
    values = "".join(f'<tr><td>{_e(k)} {_ARROWS[_direction([run], k)]}</td>'
                     f'<td class="num">{_fmt(_float(row[k]), 4)}</td></tr>' for k in keys if k in row)
    timing = f"gen {_fmt(_float(row.get('gen_seconds')), 2)} s, eval {_fmt(_float(row.get('eval_seconds')), 2)} s"
    return f'<td>{media}<table class="m">{values}</table><span class="muted">{_e(timing)}</span></td>'


# ---- helpers ----------------------------------------------------------------------------------


def _video_src(video: Path, out_dir: Path, label: str) -> str:
    """A relative URL for ``video`` from the report folder; linked/copied in when outside it."""
    out_dir = out_dir.resolve()
    try:
        relative = video.resolve().relative_to(out_dir)
    except ValueError:
        relative = Path(VIDEOS_DIR) / label / video.name
        target = out_dir / relative
        if not (target.is_file() and target.stat().st_size == video.stat().st_size):
            target.parent.mkdir(parents=True, exist_ok=True)
            with atomic_output(target, overwrite=True) as tmp:
                tmp.unlink()
                try:
                    os.link(video, tmp)
                except OSError:
                    shutil.copyfile(video, tmp)
    return "/".join(quote(part) for part in relative.parts)


def _table(title: str | None, head: Sequence[str], rows: list[str]) -> str:
    heading = f"<h2>{_e(title)}</h2>\n" if title else ""
    cells = "".join(f"<th>{_e(h)}</th>" for h in head)
    return f"{heading}<table><tr>{cells}</tr>\n" + "\n".join(rows) + "</table>"


def _direction(runs: list[_Run], key: str) -> str | None:
    return next((run.summary["metrics"][key]["direction"] for run in runs if key in run.summary["metrics"]), None)


def _best(means: list[float | None], direction: str | None) -> int | None:
    if direction is None:
        return None
    scored = sorted((m, i) for i, m in enumerate(means) if m is not None)
    if direction == "higher":
        scored.reverse()
    if len(scored) < 2 or scored[0][0] == scored[1][0]:  # no single best: no bold
        return None
    return scored[0][1]


def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _png_uri(image: np.ndarray) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _float(cell) -> float | None:
    try:
        return float(cell) if cell not in ("", None) else None
    except ValueError:
        return None


def _fmt(value, digits: int) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def _e(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


__all__ = ["write_report"]
