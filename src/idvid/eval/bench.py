"""Benchmark runs: every face x prompt x seed of a suite, generated, saved, scored and summarised.

    from idvid.eval.bench import run_bench
    run = run_bench("smoke", "tiny", "runs/smoke")      # a packaged suite name or a YAML path
    run.summary["metrics"]["facesim"]["mean"]

or ``idvid bench SUITE.yaml --model M --out DIR``; ``idvid bench --compare RUN_A RUN_B --out DIR``
writes a side-by-side report of finished runs; ``--model A --model B ...`` runs the suite on
each model into ``DIR/<name>/`` (every model and folder checked first) and writes that report
as ``DIR/report.html``. Under ``accelerate launch`` the processes (a GPU each) split the items
still to do, and the main process writes the run folder as one process would.

Suite YAML schema
-----------------
::

    name: my-suite                  # required; id: letters, digits, single - _ . separators
    description: free text          # optional
    faces:                          # required, non-empty; one entry per identity
      - id: astronaut               # required id, unique
        photos: [faces/astronaut.jpg]   # required, non-empty; several = one person's views
        face_index: 0               # optional: which face when a photo shows several
    prompts:                        # required, non-empty
      - id: turn-left               # required id, unique
        text: a person turns their head to the left   # required
        tags: [action]              # optional; summary.json gives per-tag means. Used by
                                    # the packaged suites: action, scene, lighting, camera
    seeds: [0, 1]                   # required, non-empty, unique integers >= 0
    options:                        # optional GenerationOptions fields (not seed, face_index):
      num_frames: 9                 #   num_frames, height, width, num_inference_steps,
      height: 64                    #   guidance_scale, identity_guidance_scale, fps,
      width: 64                     #   negative_prompt. Left out: the model's defaults.
      num_inference_steps: 1
    metrics: [facesim, motion_amplitude]   # optional metric names; default: the default set

Photo paths: relative to the YAML file's folder, absolute, ``assets:NAME`` (the project's
sample photos: ``idvid/assets/`` when installed, ``<checkout>/assets/`` in a source tree) or
``package:REL`` (relative to the installed ``idvid`` package). Unknown keys, wrong types,
empty lists, repeated ids and missing photos are one-line :class:`SuiteError`\\ s.

Packaged suites (``idvid.eval.suites``): ``default`` (2 public-domain faces x 24 prompts x
2 seeds) and ``smoke`` (1 face x 2 prompts x 1 seed, tiny options). The held-out
synthetic-identity suite made by ``idvid synth`` will be an ordinary suite file written
next to its rendered face photos (relative photo paths), run with the same command.

Run folder
----------
::

    run.json        suite (with fingerprint), model, options, runtime (dtype, offload, tiling, cache),
                    metrics, idvid version, device
    metrics.csv     one row per item: item_id, face, prompt_id, prompt, seed, tags (";"-joined),
                    one column per metric output (empty = not measured), gen_seconds, eval_seconds
    summary.json    per metric: mean, std, n, n_missing, ci95, direction; per tag / per face
                    means; pooled face FID; skipped metrics; timing totals
    report.html     see :mod:`idvid.eval.report`
    videos/<item_id>.mp4
    items/<item_id>.generation.json   generation time, shape, the process that made it
    items/<item_id>.eval.json         the full EvalResult (values, notes, skips, series)
    items/<item_id>.features.npz      FID features, when a feature extractor is configured

Resuming: a rerun into the same folder skips items that have both a video and a CSV row; an
item with a video but no row is evaluated again (not regenerated); a row without a video is
generated again. The folder must hold a run of the same model and suite (same fingerprint),
or nothing (an earlier run that finished no video, e.g. one stopped by a bad option, is simply
started again), with the same runtime options; ``overwrite=True`` deletes the old run's files
first. Every file is written atomically (temporary file + rename), so an interrupted run resumes
cleanly. A multi-process run writes metrics.csv at its end, so after an interruption its
finished videos are scored again (not generated again).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from idvid.atomic import atomic_output
from idvid.errors import IdvidError
from idvid.eval.bench_summary import format_summary, summarize_run
from idvid.eval.run_files import (
    ITEMS_DIR,
    METRICS_FILE,
    REPORT_FILE,
    RUN_FILE,
    SUMMARY_FILE,
    VIDEOS_DIR,
    cell,
    item_file,
    now,
    read_json,
    read_rows,
    write_rows,
    write_text,
)
from idvid.eval.suites import Suite, SuiteError, SuiteItem, load_suite

_RUN_FORMAT = 1


class BenchError(IdvidError):
    """A benchmark run cannot start or resume: wrong folder, mismatched run, bad arguments."""


@dataclass
class BenchRun:
    """What :func:`run_bench` did. ``generated``/``evaluated``: item ids made or scored by this
    call; ``reused``: items already complete; ``summary``: the summary.json content."""

    out_dir: Path
    suite: Suite
    model: str
    generated: list[str] = field(default_factory=list)
    evaluated: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    load_seconds: float = 0.0

    @property
    def metrics_csv(self) -> Path:
        return self.out_dir / METRICS_FILE

    @property
    def summary_json(self) -> Path:
        return self.out_dir / SUMMARY_FILE

    @property
    def report_html(self) -> Path:
        return self.out_dir / REPORT_FILE


def run_bench(
    suite_path: str | Path,
    model: str,
    out_dir: str | Path,
    device: str | None = None,
    progress: bool = True,
    *,
    overwrite: bool = False,
    models=None,
    report: bool = True,
    runtime=None,
) -> BenchRun:
    """Generate, save and score every item of a suite; resumable (see the module docstring).

    Args:
        suite_path: a suite YAML file or a packaged suite name (``smoke``, ``default``).
        model: preset name or model directory, as for :func:`idvid.engines.load_engine`.
        out_dir: the run folder (created; must be new, empty, or a run of the same model+suite).
        device: torch device for the engine (default: the engine's own, CPU).
        progress: show a tqdm bar over items.
        overwrite: delete a previous run's files in ``out_dir`` first.
        models: :class:`~idvid.eval.EvalModels` or :class:`~idvid.eval.ModelPaths` for the
            metrics (default: paths from the environment, see :mod:`idvid.eval.models`).
        report: also write report.html.
        runtime: :class:`~idvid.engines.RuntimeOptions` (precision, offloading, tiling, cache);
            part of the run, like the model: a resumed run must use the same.

    Raises:
        SuiteError, BenchError, ModelFileError, FaceError, GenerationError (all IdvidError).
    """
    import torch
    from accelerate import PartialState

    from idvid.engines import RuntimeOptions
    from idvid.eval.models import EvalModels

    # One process, unless started by `accelerate launch`; CPU processes talk over gloo.
    processes = PartialState(cpu=not torch.cuda.is_available())
    if processes.num_processes > 1 and (device or "").startswith("cuda"):
        device = str(processes.device)  # one GPU per process
    runtime = runtime or RuntimeOptions()
    suite, config, fresh = check_run(suite_path, model, out_dir, device, runtime, overwrite)  # 1. before heavy work
    out_dir = Path(out_dir).expanduser()
    run = BenchRun(out_dir, suite, config["model"])
    if not isinstance(models, EvalModels):
        models = EvalModels(models)

    rows = {} if fresh else read_rows(out_dir / METRICS_FILE)  # 2. plan: what is missing, and whose
    items = suite.items()
    todo = [it for it in items if fresh or not (_video(out_dir, it).is_file() and it.id in rows)]
    run.reused = [it.id for it in items if it not in todo]
    mine = todo[processes.process_index::processes.num_processes]
    # face id -> analysed reference photos; every process checks every photo still needed, so a
    # photo without a face is the same one-line error everywhere, before anything is written
    references = {face.id: _analyze_references(face, models) for face in dict.fromkeys(it.face for it in todo)}
    processes.wait_for_everyone()  # all have read the folder before the main process changes it
    if fresh and processes.is_main_process:
        _clear_run(out_dir)
        write_text(out_dir / RUN_FILE, json.dumps(config, indent=2) + "\n")
    processes.wait_for_everyone()

    one_process = processes.num_processes == 1
    new_rows = _run_items(run, mine, references, model, device, runtime, models,
                          progress=progress and processes.is_main_process, rows=rows if one_process else None,
                          done=len(run.reused) if one_process else 0)
    if processes.num_processes > 1:  # 3b. every process's rows, in suite order, by the main process
        from accelerate.utils import gather_object

        rows.update(dict(gather_object(list(new_rows.items()))))
        run.generated, run.evaluated = gather_object(run.generated), gather_object(run.evaluated)
        if processes.is_main_process:
            write_rows(out_dir / METRICS_FILE, rows, order=[it.id for it in items])
    if processes.is_main_process:  # 4. summary and report, from what is on disk
        run.summary = summarize_run(out_dir)
        write_text(out_dir / SUMMARY_FILE, json.dumps(run.summary, indent=2, allow_nan=False) + "\n")
        if report:
            from idvid.eval.report import write_report

            write_report([out_dir], out_dir / REPORT_FILE)
    processes.wait_for_everyone()
    return run


def _run_items(run: BenchRun, items: list[SuiteItem], references: dict, model: str, device, runtime, models, *,
               progress: bool, rows: dict | None, done: int) -> dict[str, dict]:
    """Generate what has no video, score what has no row; -> the new rows. ``rows``: the run's
    rows to write metrics.csv from after each item (one process), None to leave that to the
    caller; ``done``: items the progress bar counts as done already."""
    from tqdm.auto import tqdm

    engine, new_rows = None, {}
    order = [it.id for it in run.suite.items()]
    with tqdm(total=done + len(items), initial=done, desc=f"bench {run.suite.name}", unit="video",
              disable=not progress, dynamic_ncols=True) as bar:
        for item in items:
            bar.set_postfix_str(item.id)
            if not _video(run.out_dir, item).is_file():
                if engine is None:
                    engine, run.load_seconds = _load_engine(model, device, runtime)
                _generate(engine, run.suite, item, run.out_dir)
                run.generated.append(item.id)
            new_rows[item.id] = _evaluate(run.suite, item, run.out_dir, references[item.face.id], models)
            run.evaluated.append(item.id)
            if rows is not None:
                rows[item.id] = new_rows[item.id]
                write_rows(run.out_dir / METRICS_FILE, rows, order=order)
            bar.update(1)
    return new_rows


def check_run(suite_path, model: str, out_dir, device=None, runtime=None, overwrite: bool = False
              ) -> tuple[Suite, dict, bool]:
    """What a run checks before any heavy work: the suite, the model's plan for it (limits,
    memory, photos per face), the run folder. -> (suite, run config, whether it starts afresh)."""
    from idvid.engines import GenerationOptions, RuntimeOptions, plan_generation

    runtime = runtime or RuntimeOptions()
    suite = load_suite(suite_path)
    plan_generation(model, GenerationOptions(**suite.options), device=device, runtime=runtime,
                    photos=max(len(face.photos) for face in suite.faces))
    config = _run_config(suite, _model_key(model), device, runtime)
    return suite, config, _check_dir(Path(out_dir).expanduser(), config, overwrite)


def compare_runs(run_dirs: Sequence[str | Path], out_dir: str | Path, overwrite: bool = False) -> Path:
    """Write ``out_dir/report.html`` comparing finished runs side by side; returns its path."""
    from idvid.eval.report import write_report

    runs = [Path(r).expanduser() for r in run_dirs]
    if len(runs) < 2:
        raise BenchError("--compare needs at least two run folders")
    for run_dir in runs:
        if not (run_dir / RUN_FILE).is_file() or not (run_dir / METRICS_FILE).is_file():
            raise BenchError(f"{run_dir} is not a finished bench run (no {RUN_FILE} and {METRICS_FILE})")
    out_dir = Path(out_dir).expanduser()
    if (out_dir / RUN_FILE).is_file():
        raise BenchError(f"--out {out_dir} holds a bench run; write the comparison to another folder")
    out_html = out_dir / REPORT_FILE
    if out_html.exists() and not overwrite:
        raise BenchError(f"{out_html} exists; pass --overwrite to replace it")
    return write_report(runs, out_html)


# ---- one item ---------------------------------------------------------------------------------


def _video(out_dir: Path, item: SuiteItem) -> Path:
    return out_dir / VIDEOS_DIR / f"{item.id}.mp4"


def _load_engine(model: str, device: str | None, runtime):
    from idvid.engines import load_engine

    start = time.perf_counter()
    engine = load_engine(model, device=device, runtime=runtime)
    if hasattr(engine, "set_progress_bar_config"):  # one bar: ours, over items
        engine.set_progress_bar_config(disable=True)
    return engine, time.perf_counter() - start


def _generate(engine, suite: Suite, item: SuiteItem, out_dir: Path) -> None:
    from accelerate import PartialState

    from idvid.engines import GenerationOptions

    options = GenerationOptions(**suite.options, seed=item.seed, face_index=item.face.face_index)
    start = time.perf_counter()
    output = engine(prompt=item.prompt.text, faces=[str(p) for p in item.face.photos], **options.as_kwargs())
    seconds = time.perf_counter() - start
    output.save(_video(out_dir, item))
    frames, height, width = (int(v) for v in output.frames.shape[:3])
    info = {"seconds": seconds, "num_frames": frames, "height": height, "width": width, "fps": output.fps,
            "seed": item.seed, "process": PartialState().process_index, "created": now()}
    write_text(item_file(out_dir, item.id, "generation.json"), json.dumps(info, indent=2) + "\n")


def _analyze_references(face, models) -> list:
    return models.analyzer.references([str(p) for p in face.photos], face.face_index)


def _evaluate(suite: Suite, item: SuiteItem, out_dir: Path, references: list, models) -> dict[str, str]:
    from idvid.eval.evaluate import evaluate_video

    start = time.perf_counter()
    result = evaluate_video(_video(out_dir, item), references, item.prompt.text,
                            metrics=list(suite.metrics) if suite.metrics else None, models=models)
    seconds = time.perf_counter() - start
    write_text(item_file(out_dir, item.id, "eval.json"), result.to_json() + "\n")
    features = item_file(out_dir, item.id, "features.npz")
    if result.features:
        with atomic_output(features, overwrite=True) as tmp, open(tmp, "wb") as handle:
            np.savez(handle, **result.features)
    else:
        features.unlink(missing_ok=True)
    generation = read_json(item_file(out_dir, item.id, "generation.json")) or {}
    row = {"item_id": item.id, "face": item.face.id, "prompt_id": item.prompt.id, "prompt": item.prompt.text,
           "seed": str(item.seed), "tags": ";".join(item.prompt.tags)}
    row.update({key: cell(value) for key, value in result.values.items()})
    row["gen_seconds"] = cell(generation.get("seconds"), 4)
    row["eval_seconds"] = cell(seconds, 4)
    return row


# ---- run folder -------------------------------------------------------------------------------


def _model_key(model: str) -> str:
    path = Path(model).expanduser()
    return str(path.resolve()) if path.is_dir() else model


def _run_config(suite: Suite, model: str, device: str | None, runtime) -> dict:
    import dataclasses

    import idvid

    return {"format": _RUN_FORMAT, "model": model, "suite": suite.to_dict(), "options": dict(suite.options),
            "runtime": dataclasses.asdict(runtime),
            "metrics": None if suite.metrics is None else list(suite.metrics),
            "idvid_version": idvid.__version__, "device": device, "created": now()}


def _check_dir(out_dir: Path, config: dict, overwrite: bool) -> bool:
    """Check ``out_dir`` can take this run; nothing is written. True: start afresh (a new folder,
    ``overwrite``, or an earlier run that finished no item); False: resume the run there."""
    if out_dir.exists() and not out_dir.is_dir():
        raise BenchError(f"--out {out_dir} is a file; give a folder")
    if not (out_dir / RUN_FILE).exists():
        if out_dir.is_dir() and any(out_dir.iterdir()):
            raise BenchError(f"--out {out_dir} is not empty and holds no bench run; pick a new folder")
        return True
    if overwrite or not ((out_dir / METRICS_FILE).exists() or any((out_dir / VIDEOS_DIR).glob("*.mp4"))):
        return True
    old = read_json(out_dir / RUN_FILE)
    if old is None:
        raise BenchError(f"{out_dir / RUN_FILE} is unreadable; pass --overwrite to start the run again")
    old_suite = old.get("suite") or {}
    if old.get("model") != config["model"] or old_suite.get("name") != config["suite"]["name"]:
        raise BenchError(
            f"{out_dir} holds a run of suite {old_suite.get('name')!r} with model {old.get('model')!r}, not "
            f"suite {config['suite']['name']!r} with model {config['model']!r}; use another --out, or "
            "--overwrite to replace it")
    if old.get("runtime", config["runtime"]) != config["runtime"]:
        from idvid.engines.runtime import RUNTIME_FLAGS

        changed = ", ".join(f"{RUNTIME_FLAGS[k]} {old['runtime'].get(k)} (now {v})"
                            for k, v in config["runtime"].items() if old["runtime"].get(k) != v)
        raise BenchError(f"the run in {out_dir} used {changed}; give the same options, use another --out, "
                         "or --overwrite to replace it")
    if old_suite.get("fingerprint") != config["suite"]["fingerprint"]:
        raise BenchError(
            f"suite {config['suite']['name']!r} changed since the run in {out_dir} (faces, photos, prompts, "
            "seeds, options or metrics); use another --out, or --overwrite to replace it")
    return False


def _clear_run(out_dir: Path) -> None:
    """Delete the files a run writes (nothing else) so it can start again."""
    for name in (RUN_FILE, METRICS_FILE, SUMMARY_FILE, REPORT_FILE):
        (out_dir / name).unlink(missing_ok=True)
    for folder, patterns in ((VIDEOS_DIR, ("*.mp4",)), (ITEMS_DIR, ("*.json", "*.npz"))):
        for pattern in patterns:
            for path in (out_dir / folder).glob(pattern):
                path.unlink()
        if (out_dir / folder).is_dir() and not any((out_dir / folder).iterdir()):
            (out_dir / folder).rmdir()


__all__ = ["BenchError", "BenchRun", "SuiteError", "check_run", "compare_runs", "format_summary",
           "read_rows", "run_bench", "summarize_run", "write_rows"]
