"""summary.json of a bench run: per-metric means with 95% intervals, per tag and per face."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from idvid.eval.run_files import METRICS_FILE, RUN_FILE, column, item_file, metric_columns, read_json, read_rows


def summarize_run(run_dir: str | Path) -> dict:
    """summary.json content for a run folder, computed from metrics.csv and items/ only."""
    from idvid.eval.registry import METRICS, metric_names

    run_dir = Path(run_dir)
    config = read_json(run_dir / RUN_FILE) or {}
    all_rows = read_rows(run_dir / METRICS_FILE)
    rows = list(all_rows.values())
    keys = metric_columns(rows)
    evals = [read_json(item_file(run_dir, r["item_id"], "eval.json")) or {} for r in rows]
    directions: dict[str, bool | None] = {}
    skipped: dict[str, str] = {}
    for result in evals:
        directions.update(result.get("directions", {}))
        skipped.update(result.get("skipped", {}))
    metric_names()  # registers the built-in metrics, for keys no eval.json names
    for key in keys:
        if key not in directions:
            owner = next((cls for cls in METRICS.values() if key in cls.outputs), None)
            directions[key] = owner.direction(key) if owner else None
    suite = config.get("suite", {})
    return {
        "suite": suite.get("name"),
        "model": config.get("model"),
        "idvid_version": config.get("idvid_version"),
        "items": {"done": len(rows), "total": _suite_size(suite)},
        "ci_method": "t (scipy.stats)",
        "metrics": {k: {**_stats(column(rows, k)), "direction": _direction(directions.get(k))} for k in keys},
        "by_tag": _group_means(rows, keys, lambda r: [t for t in r.get("tags", "").split(";") if t]),
        "by_face": _group_means(rows, keys, lambda r: [r.get("face", "")]),
        "face_fid_pooled": _pooled_fid(run_dir, rows),
        "skipped": skipped,
        "timing": {
            **{f"generation_seconds_{k}": v for k, v in _totals(column(rows, "gen_seconds")).items()},
            **{f"eval_seconds_{k}": v for k, v in _totals(column(rows, "eval_seconds")).items()},
        },
    }


def format_summary(summary: dict) -> str:
    """A few lines for the terminal: mean +- 95% CI half-width per metric."""
    lines = [f"suite {summary.get('suite')} / model {summary.get('model')}: "
             f"{summary['items']['done']}/{summary['items']['total']} items"]
    width = max((len(k) for k in summary["metrics"]), default=8)
    arrows = {"higher": "higher is better", "lower": "lower is better", None: ""}
    for key, s in summary["metrics"].items():
        if s["mean"] is None:
            shown = "n/a"
        else:
            half = "" if s["ci95"] is None else f" +- {(s['ci95'][1] - s['ci95'][0]) / 2:.4f}"
            shown = f"{s['mean']:.4f}{half}"
        lines.append(f"  {key:<{width}}  {shown:<22} n={s['n']:<4} {arrows[s['direction']]}".rstrip())
    pooled = summary.get("face_fid_pooled")
    if pooled:
        lines.append(f"  pooled face FID {pooled['value']:.4f} ({pooled['n_frames']} frames)")
    return "\n".join(lines)


def _stats(values: np.ndarray) -> dict:
    finite = values[np.isfinite(values)]
    n = int(finite.size)
    out = {"mean": None, "std": None, "n": n, "n_missing": int(values.size - n), "ci95": None}
    if n:
        out["mean"] = float(finite.mean())
    if n > 1:
        std = float(finite.std(ddof=1))
        half = _t_critical(n - 1) * std / math.sqrt(n)
        out.update(std=std, ci95=[out["mean"] - half, out["mean"] + half])
    return out


def _t_critical(dof: int) -> float:
    """Two-sided 95% critical value of Student's t with ``dof`` degrees of freedom."""
    from scipy import stats

    return float(stats.t.ppf(0.975, dof))


def _group_means(rows: list[dict], keys: list[str], groups_of) -> dict:
    groups: dict[str, list[dict]] = {}
    for row in rows:
        for group in groups_of(row):
            groups.setdefault(group, []).append(row)
    return {g: {"n_items": len(members), "means": {k: _mean(column(members, k)) for k in keys}}
            for g, members in groups.items()}


def _pooled_fid(run_dir: Path, rows: list[dict]) -> dict | None:
    """Fréchet distance between all reference-face features and all generated-face features."""
    from idvid.eval.fid import frechet_distance_from_features

    references: dict[str, np.ndarray] = {}
    frames = []
    for row in rows:
        path = item_file(run_dir, row["item_id"], "features.npz")
        if not path.is_file():
            continue
        with np.load(path) as data:
            if "face_fid_reference" in data and row["face"] not in references:
                references[row["face"]] = data["face_fid_reference"]
            if "face_fid_frames" in data:
                frames.append(data["face_fid_frames"])
    if not references or not frames:
        return None
    reference, generated = np.concatenate(list(references.values())), np.concatenate(frames)
    return {"value": frechet_distance_from_features(reference, generated),
            "n_reference": int(len(reference)), "n_frames": int(len(generated))}


def _totals(values: np.ndarray) -> dict:
    finite = values[np.isfinite(values)]
    return {"total": float(finite.sum()) if finite.size else None, "mean": _mean(values), "n": int(finite.size)}


def _mean(values: np.ndarray) -> float | None:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else None


def _direction(higher_is_better: bool | None) -> str | None:
    return None if higher_is_better is None else ("higher" if higher_is_better else "lower")


def _suite_size(suite: dict) -> int | None:
    try:
        return len(suite["faces"]) * len(suite["prompts"]) * len(suite["seeds"])
    except (KeyError, TypeError):
        return None
