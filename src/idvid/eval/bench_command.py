"""``idvid bench``: the argument combinations, one run, several models side by side (one run
folder each and one report), or a comparison of finished runs (:mod:`idvid.eval.bench` runs them)."""

from __future__ import annotations

from pathlib import Path

from idvid.atomic import check_writable_folder
from idvid.eval.bench import BenchError, BenchRun, check_run, compare_runs, run_bench
from idvid.eval.bench_summary import format_summary
from idvid.eval.run_files import METRICS_FILE, REPORT_FILE, RUN_FILE, SUMMARY_FILE


def bench_command(suite=None, model=None, out=None, device=None, overwrite=False, compare=None,
                  progress=True, runtime=None) -> str:
    """``idvid bench``: check the argument combination, run or compare; returns what to print.
    ``model``: one model, or several to run the same suite on side by side."""
    models = [model] if isinstance(model, str) else list(model or [])
    if suite is None and not compare:
        raise BenchError("give a SUITE (a .yaml file or a packaged suite name), or --compare RUN RUN ...")
    if out is None:
        raise BenchError("--out DIR is required")
    check_writable_folder(out)
    if compare:
        runtime_flags = runtime is not None and runtime.given()
        extra = [flag for flag, value in (("SUITE", suite), ("--model", models), ("--device", device),
                                          ("--dtype/--offload/--vae-tiling/--cache", runtime_flags)) if value]
        if extra:
            raise BenchError(f"--compare reads finished runs; {', '.join(extra)} cannot be used with it")
        path = compare_runs(compare, out, overwrite=overwrite)
        return f"wrote {path} comparing {len(compare)} runs"
    if not models:
        raise BenchError("--model is required for a run (a preset name or a model directory; see `idvid info`)")
    try:
        if len(models) > 1:
            return _side_by_side(suite, models, Path(out).expanduser(), device, overwrite, progress, runtime)
        run = run_bench(suite, models[0], out, device=device, progress=progress, overwrite=overwrite, runtime=runtime)
    finally:
        _leave_process_group()
    if not run.summary:  # a process other than the main one under `accelerate launch`: it reports nothing
        return ""
    return "\n".join([format_summary(run.summary), _run_counts(run),
                      f"results in {run.out_dir}: {METRICS_FILE}, {SUMMARY_FILE}, {REPORT_FILE} (open it in a browser)"])


def _leave_process_group() -> None:
    """End the process group `accelerate launch` gave the run. A process that exits with gloo's
    threads still up can abort ("terminate called without an active exception"); seen on a
    loaded 2-core machine, where one process finished first."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        from accelerate import PartialState

        PartialState().destroy_process_group()


def _side_by_side(suite, models: list[str], out: Path, device, overwrite: bool, progress: bool, runtime) -> str:
    """The suite on each model, one run folder each under ``out``, and one report comparing them.
    Every model's plan and run folder are checked before the first video is made."""
    from idvid.eval.models import EvalModels

    names = [Path(m).expanduser().resolve().name if Path(m).expanduser().is_dir() else m for m in models]
    if len(set(names)) < len(names):
        raise BenchError(f"give each --model once (and distinct folder names): {', '.join(names)}")
    if (out / RUN_FILE).is_file():
        raise BenchError(f"--out {out} holds a single bench run; write a side-by-side run to another folder")
    for model, name in zip(models, names):
        check_run(suite, model, out / name, device, runtime, overwrite)
    scoring = EvalModels(None)  # loaded once, used for every model's videos
    runs = [run_bench(suite, model, out / name, device=device, progress=progress, overwrite=overwrite,
                      runtime=runtime, models=scoring) for model, name in zip(models, names)]
    if not all(run.summary for run in runs):  # not the main process under `accelerate launch`
        return ""
    from idvid.eval.report import write_report

    report = write_report([run.out_dir for run in runs], out / REPORT_FILE)  # rewritten as the runs resume
    lines = [f"{name}: {_run_counts(run)}\n{format_summary(run.summary)}" for name, run in zip(names, runs)]
    return "\n".join([*lines, f"wrote {report} comparing {', '.join(names)} (open it in a browser)"])


def _run_counts(run: BenchRun) -> str:
    return f"{len(run.generated)} generated, {len(run.evaluated)} evaluated, {len(run.reused)} already done"
