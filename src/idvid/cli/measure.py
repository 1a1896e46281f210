"""idvid faces, eval and bench: what is in a photo, how good a video is, engines side by side."""

from __future__ import annotations

import argparse
from pathlib import Path

from idvid.atomic import check_output
from idvid.cli.runtime import add_runtime_arguments, runtime_options
from idvid.errors import ConfigError, FaceError


def _faces_parser(sub) -> None:
    p = sub.add_parser("faces", help="show the faces found in a photo",
                       description="Detect and analyse the faces in a photo: box, size, pose and quality. "
                       "Faces are numbered left to right; the one `generate` would use is marked.")
    p.add_argument("photo", help="photo to analyse")
    p.add_argument("--face-index", type=int, metavar="N", help="the face to analyse in detail (default: the largest)")
    p.add_argument("--preview", type=Path, metavar="PNG", help="write an annotated preview image")
    p.add_argument("--overwrite", action="store_true", help="replace --preview if it exists")


def cmd_faces(args) -> None:
    from idvid.face import FaceAnalyzer, load_photo

    if args.preview is not None:
        check_output(args.preview, args.overwrite, (".png",))
    analyzer = FaceAnalyzer()
    image = load_photo(args.photo)
    detections = analyzer.detect(image)
    print(f"{args.photo}: {image.shape[1]}x{image.shape[0]} px, {len(detections)} face(s)")
    for i, d in enumerate(detections):
        x, y, w, h = (int(round(v)) for v in d.box)
        print(f"  [{i}] box x={x} y={y} w={w} h={h}  size {d.size:.0f} px  score {d.score:.2f}")
    chosen, observation = _chosen_face(analyzer, image, detections, args)
    if args.preview is not None:
        from idvid.video import write_image

        write_image(analyzer.annotate(image, detections, chosen, observation), args.preview, overwrite=args.overwrite)
        print(f"wrote {args.preview}")


def _chosen_face(analyzer, image, detections, args) -> tuple:
    """The face `generate` would use and its analysis, printed; (None, None) when a group photo
    needs --face-index (said, not an error: listing the faces is what this command is for)."""
    try:
        chosen = analyzer.choose(detections, args.face_index, source=str(args.photo))
    except FaceError as err:
        if args.face_index is not None or len(detections) < 2:
            raise
        print(f"  none chosen: {err}")
        return None, None
    index = next(i for i, d in enumerate(detections) if d is chosen)
    observation = analyzer.analyze(image, face_index=index)
    pose = observation.pose
    print(f"  using [{index}]: yaw {pose.yaw:+.1f}  pitch {pose.pitch:+.1f}  "
          f"roll {pose.roll:+.1f} deg, quality {observation.quality:.2f}")
    return chosen, observation


def _eval_parser(sub) -> None:
    from idvid.eval import metric_names

    p = sub.add_parser("eval", help="score a video: identity, motion, stability, text alignment",
                       description="Measure how well VIDEO keeps the identity of --face, how much it moves, how "
                       "stable the face is and how well it follows --prompt. Metrics whose model is not available "
                       "(CLIP, ArcFace, Inception) are skipped with a note; give their paths to enable them.")
    p.add_argument("video", type=Path, help="the generated video")
    p.add_argument("--face", action="append", required=True, metavar="PHOTO", help="reference photo (repeatable)")
    p.add_argument("--prompt", default="", help="the prompt the video was made from")
    p.add_argument("--metrics", help=f"comma-separated subset of: {', '.join(metric_names())}")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--clip", type=Path, metavar="DIR", help="local CLIP model directory, for CLIPScore")
    p.add_argument("--face-embedder", action="append", default=[], metavar="LABEL=ONNX",
                   help="extra face recogniser for FaceSim, e.g. arc=/models/arcface.onnx (repeatable)")
    p.add_argument("--fid-features", type=Path, metavar="ONNX", help="feature extractor for face FID")


def cmd_eval(args) -> None:
    from idvid.eval import ModelPaths, evaluate_video, format_result

    embedders = dict(_label_path(item) for item in args.face_embedder)
    paths = ModelPaths(clip=args.clip, face_embedders=embedders, fid_features=args.fid_features)
    result = evaluate_video(args.video, args.face, prompt=args.prompt, metrics=args.metrics, models=paths)
    print(result.to_json() if args.json else format_result(result))


def _label_path(item: str) -> tuple[str, Path]:
    label, sep, path = item.partition("=")
    if not sep or not label or not path:
        raise ConfigError(f"--face-embedder takes LABEL=PATH, got {item!r}")
    return label, Path(path)


BENCH_EXAMPLES = """\
examples:
  idvid bench smoke --model tiny --out runs/smoke          # packaged 2-video plumbing check
  idvid bench default --model wan2.1-1.3b --out runs/wan --device cuda
  idvid bench my_suite.yaml --model ./my-model --out runs/mine   # rerun the same line to resume
  idvid bench --compare runs/wan runs/mine --out runs/wan-vs-mine
  idvid bench smoke --model tiny --model tiny-vace --out runs/side   # same suite and seeds, one report
  accelerate launch --num_processes 4 -m idvid.cli bench default --model wan2.1-vace-14b --device cuda --out runs/v
                                                            # 4 GPUs share the items; one run, one report

suite file (YAML; the full schema: python -m pydoc idvid.eval.bench):
  name: my-suite
  faces:   [{id: ada, photos: [ada.jpg]}]            # paths relative to the YAML file
  prompts: [{id: nod, text: "a woman nods", tags: [action]}]
  seeds:   [0, 1]
  options: {num_frames: 49, num_inference_steps: 30}  # optional; else the model's defaults
  metrics: [facesim, motion_amplitude]                # optional; else the default set

The run folder gets videos/, metrics.csv (one row per video), summary.json (mean, std,
95% CI per metric; per-tag means) and report.html (open it in a browser). Metrics that need
extra models read them from $IDVID_CLIP_PATH, $IDVID_FACE_EMBEDDERS, $IDVID_FID_FEATURES.
"""


def _bench_parser(sub) -> None:
    p = sub.add_parser(
        "bench",
        help="generate and score every face x prompt x seed of a suite; compare runs",
        description="Run a benchmark suite: generate a video for every face x prompt x seed with --model,\n"
        "score each one, and write metrics.csv, summary.json and report.html in --out.\n"
        "Rerunning the same command resumes: finished videos and scores are kept.\n"
        "With --compare, write one report.html over finished runs, side by side.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=BENCH_EXAMPLES,
    )
    p.add_argument("suite", nargs="?", metavar="SUITE",
                   help="suite YAML file, or a packaged suite: default (96 videos), smoke (2 tiny videos)")
    p.add_argument("--model", action="append",
                   help="preset name or model directory (required for a run; list with `idvid info`); repeat it "
                   "to run the suite on several models, each in --out/NAME, with one report comparing them")
    p.add_argument("--out", type=Path, metavar="DIR",
                   help="run folder (new, empty, or an earlier run of the same model and suite to resume; with "
                   "several --model, one such folder per model inside it); "
                   "with --compare, the folder for the comparison report")
    p.add_argument("--device", default=None, help="torch device for generation, e.g. cpu or cuda (default: cpu)")
    add_runtime_arguments(p)
    p.add_argument("--overwrite", action="store_true",
                   help="delete an earlier run in --out and start again (with --compare: replace report.html)")
    p.add_argument("--compare", nargs="+", type=Path, metavar="RUN",
                   help="finished run folders to compare side by side (instead of SUITE)")


def cmd_bench(args) -> None:
    from idvid.eval.bench_command import bench_command

    report = bench_command(suite=args.suite, model=args.model, out=args.out, device=args.device,
                           overwrite=args.overwrite, compare=args.compare, runtime=runtime_options(args))
    if report:  # under `accelerate launch`, the main process reports for all
        print(report)


def add_parsers(sub) -> None:
    _faces_parser(sub)
    _eval_parser(sub)
    _bench_parser(sub)


COMMANDS = {"faces": cmd_faces, "eval": cmd_eval, "bench": cmd_bench}
