"""`idvid bench` end to end on the tiny engine: files, resuming, comparing, bad suites.

Generation goes through a counting wrapper around ``load_engine`` (one real tiny engine per
model for the whole module), so the tests can assert exactly which items were generated.
"""

from __future__ import annotations

import csv
import html
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from idvid.cli import main
from idvid.eval.bench import BenchError, run_bench
from idvid.eval.suites import SuiteError
from idvid.video import read_video

TRICKY_PROMPT = 'a person turns left & says "<hello>"'
SUITE_YAML = """\
name: bench-test
faces:
  - id: astronaut
    photos: [{photo}]
prompts:
  - id: turn-left
    text: '{tricky}'
    tags: [action]
  - id: beach
    text: a person stands on a beach at sunset
    tags: [scene, lighting]
seeds: [0]
options: {{num_frames: 9, height: 64, width: 64, num_inference_steps: 1}}  # 64 px: YuNet gives NaN boxes on 32 px noise
"""
ITEMS = ["astronaut__turn-left__s0", "astronaut__beach__s0"]
PROMPTS = {"astronaut__turn-left__s0": TRICKY_PROMPT, "astronaut__beach__s0": "a person stands on a beach at sunset"}


class _Counter:
    def __init__(self):
        self.loads = 0
        self.calls = 0
        self.interrupt_at: int | None = None  # raise KeyboardInterrupt on this call number


class _CountingEngine:
    def __init__(self, engine, counter: _Counter):
        self._engine, self._counter = engine, counter

    def __call__(self, **kwargs):
        self._counter.calls += 1
        if self._counter.interrupt_at == self._counter.calls:
            raise KeyboardInterrupt
        return self._engine(**kwargs)

    def __getattr__(self, name):
        return getattr(self._engine, name)


@pytest.fixture(scope="module", autouse=True)
def engines():
    """Patch idvid.engines.load_engine: one real engine per model, every call counted."""
    import idvid.engines as engines_module

    real, cache, counter = engines_module.load_engine, {}, _Counter()

    def load(model, device=None, runtime=None):
        counter.loads += 1
        if model not in cache:
            cache[model] = real(model, device=device, runtime=runtime)
        return _CountingEngine(cache[model], counter)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(engines_module, "load_engine", load)
        yield counter


@pytest.fixture(scope="module")
def suite_file(tmp_path_factory, astronaut_path) -> Path:
    path = tmp_path_factory.mktemp("suite") / "suite.yaml"
    path.write_text(SUITE_YAML.format(photo=astronaut_path, tricky=TRICKY_PROMPT))
    return path


@pytest.fixture(scope="module")
def run_a(tmp_path_factory, suite_file, eval_models, engines):
    """One finished run of the suite on tiny, and how many engine calls it made."""
    before = engines.calls
    run = run_bench(suite_file, "tiny", tmp_path_factory.mktemp("runs") / "run_a", progress=False,
                    models=eval_models)
    return run, engines.calls - before


@pytest.fixture(scope="module")
def run_b(tmp_path_factory, suite_file, eval_models):
    """The same suite on another tiny backbone, for comparisons."""
    return run_bench(suite_file, "tiny-cogvideox", tmp_path_factory.mktemp("runs") / "run_b", progress=False,
                     models=eval_models)


def _csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def _copy(run_dir: Path, tmp_path: Path, name: str = "copy") -> Path:
    target = tmp_path / name
    shutil.copytree(run_dir, target)
    return target


def _error_line(stderr: str) -> str:
    errors = [line for line in stderr.splitlines() if line.startswith("error")]
    assert len(errors) == 1, stderr
    return errors[0]


# ---- one run ----------------------------------------------------------------------------------


def test_run_writes_every_video_and_a_row_per_item(run_a):
    run, calls = run_a
    out = run.out_dir
    assert calls == 2 and run.generated == ITEMS and run.evaluated == ITEMS and run.reused == []
    for item in ITEMS:
        assert read_video(out / "videos" / f"{item}.mp4").frames.shape == (9, 64, 64, 3)
    rows = _csv(out / "metrics.csv")
    assert [r["item_id"] for r in rows] == ITEMS
    assert [r["prompt"] for r in rows] == [PROMPTS[i] for i in ITEMS]
    assert [(r["face"], r["prompt_id"], r["seed"], r["tags"]) for r in rows] == [
        ("astronaut", "turn-left", "0", "action"), ("astronaut", "beach", "0", "scene;lighting")]
    header = list(rows[0])
    assert header[:6] == ["item_id", "face", "prompt_id", "prompt", "seed", "tags"]
    assert header[-2:] == ["gen_seconds", "eval_seconds"]
    assert {"facesim", "motion_amplitude", "temporal_flicker"} <= set(header)
    assert all(float(r["gen_seconds"]) > 0 and float(r["eval_seconds"]) > 0 for r in rows)
    assert not [p for p in out.rglob("*") if ".part-" in p.name]  # no temporary files left


def test_summary_means_are_the_csv_column_means(run_a):
    import json

    run, _ = run_a
    rows = _csv(run.metrics_csv)
    summary = json.loads(run.summary_json.read_text())
    assert summary == run.summary
    assert summary["items"] == {"done": 2, "total": 2}
    for key, stats in summary["metrics"].items():
        values = np.array([float(r[key]) if r[key] else np.nan for r in rows])
        finite = values[np.isfinite(values)]
        assert stats["n"] == finite.size and stats["n_missing"] == 2 - finite.size
        if finite.size:
            assert stats["mean"] == pytest.approx(finite.mean(), rel=1e-12, abs=1e-15)
        else:
            assert stats["mean"] is None
    motion = summary["metrics"]["motion_amplitude"]  # noise video: the flow is never zero
    assert motion["n"] == 2 and motion["direction"] == "higher"
    a, b = (float(r["motion_amplitude"]) for r in rows)
    half = 12.7062 * abs(a - b) / 2  # Student's t (1 dof, 97.5%) x sample std / sqrt(2), for two values
    assert motion["ci95"] == pytest.approx([(a + b) / 2 - half, (a + b) / 2 + half], rel=1e-5)
    assert summary["metrics"]["temporal_flicker"]["direction"] == "lower"
    assert set(summary["by_tag"]) == {"action", "scene", "lighting"}
    assert summary["by_tag"]["action"]["n_items"] == 1
    assert summary["by_tag"]["action"]["means"]["motion_amplitude"] == pytest.approx(float(rows[0]["motion_amplitude"]))
    gen = sum(float(r["gen_seconds"]) for r in rows)
    assert summary["timing"]["generation_seconds_total"] == pytest.approx(gen)
    assert "clipscore" in summary["skipped"]  # no CLIP model in the tests: skipped with a reason


def test_report_shows_each_prompt_escaped_and_a_video_per_item(run_a):
    page = run_a[0].report_html.read_text()
    for prompt in PROMPTS.values():
        assert html.escape(prompt) in page
    assert "<hello>" not in page  # the raw prompt never reaches the HTML
    videos = re.findall(r'<video src="([^"]+)" controls loop muted', page)
    assert sorted(videos) == sorted(f"videos/{i}.mp4" for i in ITEMS)
    assert page.count("data:image/png;base64,") >= 2 + len(ITEMS)  # plots + one strip per item
    assert "<details><summary>Metric definitions</summary>" in page


# ---- resuming ---------------------------------------------------------------------------------


def test_a_rerun_generates_nothing_and_keeps_the_rows(run_a, suite_file, eval_models, engines, tmp_path):
    out = _copy(run_a[0].out_dir, tmp_path)
    before_csv, calls, loads = (out / "metrics.csv").read_bytes(), engines.calls, engines.loads
    mtimes = {p: p.stat().st_mtime_ns for p in (out / "videos").iterdir()}
    again = run_bench(suite_file, "tiny", out, progress=False, models=eval_models)
    assert again.generated == [] and again.evaluated == [] and again.reused == ITEMS
    assert (engines.calls, engines.loads) == (calls, loads)  # not even loaded
    assert (out / "metrics.csv").read_bytes() == before_csv
    assert {p: p.stat().st_mtime_ns for p in (out / "videos").iterdir()} == mtimes


def test_a_deleted_row_is_evaluated_again_without_generating(run_a, suite_file, eval_models, engines, tmp_path):
    out = _copy(run_a[0].out_dir, tmp_path)
    rows = _csv(out / "metrics.csv")
    with open(out / "metrics.csv", "w", newline="") as handle:  # drop the second row
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerow(rows[0])
    video = out / "videos" / f"{ITEMS[1]}.mp4"
    mtime, calls = video.stat().st_mtime_ns, engines.calls
    again = run_bench(suite_file, "tiny", out, progress=False, models=eval_models)
    assert again.generated == [] and again.evaluated == [ITEMS[1]] and again.reused == [ITEMS[0]]
    assert engines.calls == calls and video.stat().st_mtime_ns == mtime
    new_rows = _csv(out / "metrics.csv")
    assert new_rows[0] == rows[0]
    same = {k: v for k, v in rows[1].items() if k != "eval_seconds"}
    assert {k: v for k, v in new_rows[1].items() if k != "eval_seconds"} == same  # same video, same scores


def test_a_deleted_video_is_generated_again_alone(run_a, suite_file, eval_models, engines, tmp_path):
    out = _copy(run_a[0].out_dir, tmp_path)
    (out / "videos" / f"{ITEMS[0]}.mp4").unlink()
    kept = out / "videos" / f"{ITEMS[1]}.mp4"
    mtime, calls = kept.stat().st_mtime_ns, engines.calls
    again = run_bench(suite_file, "tiny", out, progress=False, models=eval_models)
    assert again.generated == [ITEMS[0]] and again.evaluated == [ITEMS[0]] and again.reused == [ITEMS[1]]
    assert engines.calls == calls + 1 and kept.stat().st_mtime_ns == mtime
    assert (out / "videos" / f"{ITEMS[0]}.mp4").is_file()
    assert [r["item_id"] for r in _csv(out / "metrics.csv")] == ITEMS


def test_an_interrupted_run_resumes_where_it_stopped(suite_file, eval_models, engines, tmp_path):
    out = tmp_path / "run"
    engines.interrupt_at = engines.calls + 2  # the second video
    try:
        with pytest.raises(KeyboardInterrupt):
            run_bench(suite_file, "tiny", out, progress=False, models=eval_models)
    finally:
        engines.interrupt_at = None
    assert [r["item_id"] for r in _csv(out / "metrics.csv")] == ITEMS[:1]
    assert not [p for p in out.rglob("*") if ".part-" in p.name]
    again = run_bench(suite_file, "tiny", out, progress=False, models=eval_models)
    assert again.generated == ITEMS[1:] and again.reused == ITEMS[:1]
    assert [r["item_id"] for r in _csv(out / "metrics.csv")] == ITEMS


def test_resuming_a_run_of_another_model_is_refused(run_a, suite_file, eval_models, engines, tmp_path):
    out = _copy(run_a[0].out_dir, tmp_path)
    calls = engines.calls
    with pytest.raises(BenchError, match=r"holds a run of suite 'bench-test' with model 'tiny'.*--overwrite"):
        run_bench(suite_file, "tiny-cogvideox", out, progress=False, models=eval_models)
    assert engines.calls == calls


def test_resuming_after_the_suite_changed_is_refused_unless_overwrite(run_a, eval_models, engines, tmp_path,
                                                                        astronaut_path):
    out = _copy(run_a[0].out_dir, tmp_path)
    changed = tmp_path / "suite.yaml"
    changed.write_text(SUITE_YAML.format(photo=astronaut_path, tricky=TRICKY_PROMPT).replace("seeds: [0]",
                                                                                            "seeds: [1]"))
    with pytest.raises(BenchError, match="changed since the run"):
        run_bench(changed, "tiny", out, progress=False, models=eval_models)
    calls = engines.calls
    fresh = run_bench(changed, "tiny", out, progress=False, models=eval_models, overwrite=True)
    assert engines.calls == calls + 2
    assert sorted(p.name for p in (out / "videos").iterdir()) == sorted(f"{i[:-1]}1.mp4" for i in ITEMS)
    assert fresh.summary["items"] == {"done": 2, "total": 2}


def test_a_folder_with_other_files_is_refused(suite_file, eval_models, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(BenchError, match="not empty and holds no bench run"):
        run_bench(suite_file, "tiny", tmp_path, progress=False, models=eval_models)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_an_unknown_model_fails_before_any_work(suite_file, eval_models, tmp_path):
    from idvid.errors import ModelFileError

    with pytest.raises(ModelFileError, match="unknown model 'no-such-model'"):
        run_bench(suite_file, "no-such-model", tmp_path / "run", progress=False, models=eval_models)
    assert not (tmp_path / "run").exists()


# ---- compare ----------------------------------------------------------------------------------


def test_compare_writes_one_report_with_both_runs(run_a, run_b, tmp_path, capsys):
    out = tmp_path / "compare"
    code = main(["bench", "--compare", str(run_a[0].out_dir), str(run_b.out_dir), "--out", str(out)])
    stdout, stderr = capsys.readouterr()
    assert code == 0, stderr
    assert "wrote" in stdout
    page = (out / "report.html").read_text()
    header = re.search(r"<tr><th>metric</th>(.*?)</tr>", page).group(1)
    assert re.findall(r"<th>([^<]+)</th>", header) == ["run_a", "run_b"]
    videos = re.findall(r'<video src="([^"]+)"', page)
    assert len(videos) == 2 * len(ITEMS)
    for src in videos:  # linked next to the report, so the folder zips with its videos
        assert src.startswith(("videos/run_a/", "videos/run_b/")) and (out / src).is_file()
    assert html.escape(TRICKY_PROMPT) in page and "<hello>" not in page
    # a second comparison into the same folder needs --overwrite
    code = main(["bench", "--compare", str(run_a[0].out_dir), str(run_b.out_dir), "--out", str(out)])
    assert code == 1 and "--overwrite" in _error_line(capsys.readouterr().err)


# ---- the CLI ----------------------------------------------------------------------------------


def test_cli_runs_the_packaged_smoke_suite(tmp_path, capsys):
    out = tmp_path / "smoke"
    code = main(["bench", "smoke", "--model", "tiny", "--out", str(out)])
    stdout, stderr = capsys.readouterr()
    assert code == 0, stderr
    assert "2 generated, 2 evaluated, 0 already done" in stdout and "report.html" in stdout
    assert re.search(r"motion_amplitude\s+\d\.\d{4} \+- \d\.\d{4}\s+n=2", stdout)
    assert {p.name for p in out.iterdir()} == {"run.json", "metrics.csv", "summary.json", "report.html", "videos",
                                               "items"}
    assert len(list((out / "videos").glob("*.mp4"))) == 2


def test_cli_runs_one_suite_on_several_engines_side_by_side(tmp_path, capsys):
    out = tmp_path / "side"
    models = ["tiny-fantasyid", "tiny-consisid", "tiny-vace", "tiny"]
    argv = ["bench", "smoke", *(a for m in models for a in ("--model", m)), "--out", str(out)]
    code = main(argv)
    stdout, stderr = capsys.readouterr()
    assert code == 0, stderr
    assert all(f"{name}: 2 generated" in stdout for name in models)
    runs = {name: list(csv.DictReader((out / name / "metrics.csv").open())) for name in models}
    items = [[(r["item_id"], r["seed"]) for r in rows] for rows in runs.values()]
    assert all(i == items[0] for i in items)  # the same items and seeds on every engine
    assert all(rows[0].keys() == runs["tiny"][0].keys() for rows in runs.values())
    assert all(r["temporal_flicker"] != "" for rows in runs.values() for r in rows)  # random models draw no face
    report = (out / "report.html").read_text()
    assert "<title>idvid bench: tiny-fantasyid vs tiny-consisid vs tiny-vace vs tiny</title>" in report
    code = main(argv)
    assert code == 0 and capsys.readouterr().out.count("0 generated, 0 evaluated, 2 already done") == 4  # resumes


def test_cli_side_by_side_checks_every_model_first(tmp_path, capsys):
    code = main(["bench", "smoke", "--model", "tiny", "--model", "no-such-model", "--out", str(tmp_path / "side")])
    assert code == 1 and "unknown model 'no-such-model'" in _error_line(capsys.readouterr().err)
    assert not (tmp_path / "side").exists()  # nothing generated for the good one either


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "give a SUITE"),
        (["smoke", "--model", "tiny", "--model", "tiny", "--out", "{tmp}/x"], "give each --model once"),
        (["smoke"], "--out DIR is required"),
        (["smoke", "--out", "{tmp}/x"], "--model is required"),
        (["smoke", "--model", "tiny", "--compare", "{tmp}/a", "{tmp}/b", "--out", "{tmp}/x"],
         "SUITE, --model cannot be used with it"),
        (["--compare", "{tmp}/a", "{tmp}/b", "--out", "{tmp}/x", "--dtype", "bfloat16"],
         "--dtype/--offload/--vae-tiling/--cache cannot be used with it"),
        (["--compare", "{tmp}/a", "--out", "{tmp}/x"], "at least two run folders"),
        (["--compare", "{tmp}/a", "{tmp}/b", "--out", "{tmp}/x"], "is not a finished bench run"),
        (["no_such_suite.yaml", "--model", "tiny", "--out", "{tmp}/x"], "suite file not found"),
    ],
)
def test_cli_rejects_bad_argument_combinations_in_one_line(argv, message, tmp_path, capsys):
    code = main(["bench", *[a.format(tmp=tmp_path) for a in argv]])
    assert code == 1
    assert message in _error_line(capsys.readouterr().err)


def test_cli_help_documents_the_suite_format(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for word in ("--compare", "--overwrite", "faces:", "prompts:", "seeds:", "options:", "resume", "smoke"):
        assert word in text


# ---- bad suites -------------------------------------------------------------------------------

BAD_SUITES = [
    ("name: x\nfaces: [\n", "invalid YAML at line"),
    ("name: x\nfaces: []\nprompts: [{id: a, text: b}]\nseeds: [0]\n", "faces is empty"),
    ("{base}prompts: []\nseeds: [0]\n", "prompts is empty"),
    ("{base}prompts: [{id: a, text: b}]\nseeds: [0]\nsteps: 3\n", "unknown key 'steps'"),
    ("{base}prompts: [{id: a, text: b, tag: [action]}]\nseeds: [0]\n", "unknown key 'tag'; did you mean 'tags'?"),
    ("{base}prompts: [{id: a, text: b}]\nseeds: [zero]\n", "seeds[0] must be an integer"),
    ("{base}prompts: [{id: a, text: b}, {id: a, text: c}]\nseeds: [0]\n", "id 'a' appears twice"),
    ("{base}prompts: [{id: a, text: ''}]\nseeds: [0]\n", "text must be a non-empty string"),
    ("{base}prompts: [{id: a, text: b}]\nseeds: [0]\noptions: {steps: 2}\n", "unknown key 'steps'"),
    ("{base}prompts: [{id: a, text: b}]\nseeds: [0]\noptions: {num_frames: -1}\n", "positive integer"),
    ("{base}prompts: [{id: a, text: b}]\nseeds: [0]\noptions: {seed: 3}\n", "seed is set by the suite"),
    ("{base}prompts: [{id: a, text: b}]\nseeds: [0]\nmetrics: [facesimm]\n", "unknown metric 'facesimm'"),
    ("name: x\nfaces: [{id: a, photos: [nobody.jpg]}]\nprompts: [{id: a, text: b}]\nseeds: [0]\n",
     "photo 'nobody.jpg' not found"),
    ("name: two words\nfaces: []\nprompts: []\nseeds: []\n", "name must be an id"),
    ("- just\n- a list\n", "a suite is a YAML mapping"),
]


@pytest.mark.parametrize(("text", "message"), BAD_SUITES)
def test_bad_suites_are_one_line_errors(text, message, tmp_path, capsys, astronaut_path):
    from idvid.eval.suites import load_suite

    path = tmp_path / "bad.yaml"
    path.write_text(text.replace("{base}", f"name: x\nfaces: [{{id: me, photos: ['{astronaut_path}']}}]\n"))
    with pytest.raises(SuiteError) as error:
        load_suite(path)
    assert message in str(error.value) and str(path) in str(error.value) and "\n" not in str(error.value)
    code = main(["bench", str(path), "--model", "tiny", "--out", str(tmp_path / "run")])
    assert code == 1 and message in _error_line(capsys.readouterr().err)
    assert not (tmp_path / "run").exists()


def test_a_missing_suite_file_is_a_one_line_error(tmp_path):
    from idvid.eval.suites import load_suite

    with pytest.raises(SuiteError, match=r"suite file not found: .*missing\.yaml \(packaged suites: actions, colours, default, smoke\)"):
        load_suite(tmp_path / "missing.yaml")


def test_a_photo_without_a_face_fails_before_generating(tmp_path, eval_models, engines):
    blank = tmp_path / "blank.png"
    from PIL import Image

    Image.new("RGB", (256, 256), (128, 128, 128)).save(blank)
    suite = tmp_path / "suite.yaml"
    suite.write_text(f"name: x\nfaces: [{{id: nobody, photos: ['{blank}']}}]\nprompts: [{{id: a, text: b}}]\n"
                     "seeds: [0]\n")
    calls = engines.calls
    from idvid.errors import FaceError

    with pytest.raises(FaceError, match="no face found"):
        run_bench(suite, "tiny", tmp_path / "run", progress=False, models=eval_models)
    assert engines.calls == calls and not (tmp_path / "run").exists()


def test_a_run_that_finished_nothing_starts_again_with_the_fixed_suite(suite_file, eval_models, tmp_path):
    from idvid.errors import GenerationError

    bad = tmp_path / "bad.yaml"
    bad.write_text(suite_file.read_text().replace("num_frames: 9", "num_frames: 10"))
    with pytest.raises(GenerationError):
        run_bench(bad, "tiny", tmp_path / "run", progress=False, models=eval_models)
    run = run_bench(suite_file, "tiny", tmp_path / "run", progress=False, models=eval_models)
    assert run.generated == ITEMS


def test_nan_free_csv_cells_round_trip_exactly(run_a):
    """Cells are repr() of floats, so the CSV holds the exact evaluated values."""
    import json

    run, _ = run_a
    rows = _csv(run.metrics_csv)
    result = json.loads((run.out_dir / "items" / f"{ITEMS[0]}.eval.json").read_text())
    for key, value in result["values"].items():
        cell = rows[0][key]
        assert (cell == "") if value is None else (float(cell) == value)
