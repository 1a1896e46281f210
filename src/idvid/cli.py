"""The ``idvid`` command line: argument handling only; the work lives in the library."""

from __future__ import annotations

import argparse
import logging
import math
import signal
import sys
from pathlib import Path

from idvid.atomic import check_output
from idvid.errors import ConfigError, FaceError, IdvidError

EXAMPLES = """\
examples:
  idvid generate --face me.jpg --prompt "a woman walks along a beach at sunset and smiles" --out beach.mp4
  idvid generate --face front.jpg --face side.jpg --prompt "..." --model wan2.1-1.3b --frames 49
  idvid generate --face me.jpg --drive clip.mp4 --prompt "on a beach at sunset"    # follow a video's face
  idvid generate --face me.jpg --audio line.wav --background office.jpg --prompt "she smiles"
  idvid generate --face me.jpg --say "Hello, nice to meet you." --prompt "on a city street at night, in the rain"
  idvid generate --face me.jpg --model fantasyid --prompt "..." --device cuda --dtype bfloat16 --offload model
  idvid convert --mesh-sampling transform.pkl --deca deca_model.tar --flame generic_model.pkl --out DIR
  idvid faces group.jpg --preview faces.png
  idvid info
"""


def _generate_parser(sub) -> None:
    from idvid.presets import DEFAULT_MODEL

    p = sub.add_parser(
        "generate",
        help="make a video of the person in a photo doing what a prompt says",
        description="Generate a video of the person in --face doing what --prompt describes. "
        "Several --face photos of the same person form a multi-view reference set. "
        "Options left out take the model's defaults (see `idvid info`).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EXAMPLES,
    )
    p.add_argument("--face", action="append", required=True, metavar="PHOTO",
                   help="reference photo of the person (repeat for several views of the same person)")
    p.add_argument("--prompt", required=True, help="what happens in the video: action, scene, light, camera")
    p.add_argument("--out", default="idvid.mp4", type=Path, help="output .mp4 (default: %(default)s)")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    p.add_argument("--model", default=DEFAULT_MODEL,
                   help="preset name or model directory (default: %(default)s; list with `idvid info`)")
    p.add_argument("--face-index", type=int, metavar="N",
                   help="which face to use when a photo shows several, numbered left to right from 0")
    p.add_argument("--frames", type=int, dest="num_frames", metavar="N", help="number of frames")
    p.add_argument("--seconds", type=float, metavar="S",
                   help="length in seconds instead of --frames (at --fps, else the model's fps; rounded to the "
                   "model's frame grid); nano plays long takes at its own pace, the prompt's steps in order")
    p.add_argument("--height", type=int, help="video height in pixels")
    p.add_argument("--width", type=int, help="video width in pixels")
    p.add_argument("--fps", type=float, help="frames per second of the written video (29.97 and the like work)")
    p.add_argument("--drive", type=Path, metavar="VIDEO",
                   help="nano: the person follows this video's head motion, expressions, blinks and mouth "
                   "(it sets the length; the prompt still sets the scene and light; its sound is kept)")
    p.add_argument("--no-audio", action="store_true",
                   help="with --drive, --audio or --say: leave the sound out of the video")
    p.add_argument("--audio", type=Path, metavar="SOUND",
                   help="nano: the person speaks this sound (wav, mp3, m4a, a video's sound...): the mouth follows "
                   "the voice, the video lasts as long as the sound and carries it")
    p.add_argument("--say", metavar="TEXT",
                   help="nano: the person speaks this line (espeak-ng's synthetic voice): as --audio with the "
                   "spoken line")
    p.add_argument("--background", type=Path, metavar="IMAGE|VIDEO",
                   help="nano: stand the person in front of this image or (looping) video, relit to match it, "
                   "instead of the prompt's scene")
    p.add_argument("--face-mesh", type=Path, metavar="PLY",
                   help="FantasyID: the person's FLAME point cloud (the released model's mesh has 5023 points) "
                   "instead of computing it with DECA and FLAME from the photo")
    p.add_argument("--steps", type=int, dest="num_inference_steps", metavar="N", help="denoising steps")
    p.add_argument("--guidance", type=float, dest="guidance_scale", metavar="S", help="text guidance scale")
    p.add_argument("--id-guidance", type=float, dest="identity_guidance_scale", metavar="S",
                   help="identity guidance scale (on top of the text)")
    p.add_argument("--negative-prompt", default="", help="what the video should not show")
    p.add_argument("--seed", type=int, default=0, help="random seed; the same seed repeats the video (default: 0)")
    p.add_argument("--device", default=None, help="torch device, e.g. cpu or cuda (default: cpu)")
    _runtime_arguments(p)


def _runtime_arguments(p) -> None:
    """Memory and speed options of the diffusion engines (see idvid.engines.runtime)."""
    from idvid.engines.runtime import DTYPES, OFFLOADS

    group = p.add_argument_group("memory and speed (diffusion engines; `idvid info` shows what each needs)")
    group.add_argument("--dtype", default="float32", choices=DTYPES,
                       help="precision of weights and activations (bfloat16 halves both; default: %(default)s)")
    group.add_argument("--offload", default="none", choices=OFFLOADS,
                       help="keep one model (model) or one transformer block (group) on the GPU at a time")
    group.add_argument("--vae-tiling", action="store_true", help="decode in tiles: flat memory in the frame size")
    group.add_argument("--cache", type=float, metavar="T",
                       help="First Block Cache threshold: skip the blocks on steps that change little "
                       "(0.05-0.2: faster, costs fidelity)")


def _runtime(args):
    from idvid.engines.runtime import RuntimeOptions

    return RuntimeOptions(dtype=args.dtype, offload=args.offload, vae_tiling=args.vae_tiling, cache=args.cache)


def _faces_parser(sub) -> None:
    p = sub.add_parser("faces", help="show the faces found in a photo",
                       description="Detect and analyse the faces in a photo: box, size, pose and quality. "
                       "Faces are numbered left to right; the one `generate` would use is marked.")
    p.add_argument("photo", help="photo to analyse")
    p.add_argument("--face-index", type=int, metavar="N", help="the face to analyse in detail (default: the largest)")
    p.add_argument("--preview", type=Path, metavar="PNG", help="write an annotated preview image")
    p.add_argument("--overwrite", action="store_true", help="replace --preview if it exists")


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
    _runtime_arguments(p)
    p.add_argument("--overwrite", action="store_true",
                   help="delete an earlier run in --out and start again (with --compare: replace report.html)")
    p.add_argument("--compare", nargs="+", type=Path, metavar="RUN",
                   help="finished run folders to compare side by side (instead of SUITE)")


def _synth_parser(sub) -> None:
    p = sub.add_parser(
        "synth", help="render synthetic training clips of synthetic people (clip store format)",
        description="Make synthetic identities from the bundled real photos (the N most distinct, to the face "
        "recogniser, of 3N+8 morphed candidates) and render CLIPS-PER-IDENTITY clips "
        "of each (motion program, scene, clothing, light, captions, multi-view references) into OUT, in the "
        "clip store format that `idvid prepare` also writes. Identities are split into training and held-out "
        "sets. The same --seed gives the same data. Rerunning the same command resumes. The report gives "
        "how many same-identity pairs the recogniser matches and how many different-identity pairs it tells apart.",
    )
    p.add_argument("out", type=Path, metavar="OUT", help="dataset folder (new, empty, or an earlier synth run)")
    p.add_argument("--identities", type=int, default=4, metavar="N", help="synthetic people (default: %(default)s)")
    p.add_argument("--clips-per-identity", type=int, default=2, metavar="M", help="clips per person (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    p.add_argument("--size", type=int, default=128, help="frame height and width in pixels, even (default: %(default)s)")
    p.add_argument("--frames", type=int, default=17, dest="num_frames", metavar="T",
                   help="frames per clip (default: %(default)s)")
    p.add_argument("--heldout-fraction", type=float, default=0.2, metavar="F",
                   help="fraction of identities held out for evaluation (default: %(default)s)")
    p.add_argument("--face-fraction", type=float, default=0.38, metavar="F",
                   help="face height over frame height, up to 0.6 for close-ups (default: %(default)s)")
    p.add_argument("--workers", type=int, default=1, metavar="W", help="worker processes (default: %(default)s)")
    p.add_argument("--overwrite", action="store_true", help="delete an earlier dataset in OUT and start again")


def _prepare_parser(sub) -> None:
    p = sub.add_parser(
        "prepare", help="cut real videos into training clips with face references (clip store format)",
        description="Decode every video in SRC, cut it into shots, keep shots where one face dominates, crop them "
        "around that face to the size bucket whose shape best fits the video (square, landscape or portrait) and "
        "write clips with multi-view face references into OUT (the format `idvid synth` writes). Rerunning resumes "
        "from OUT's ledger; unusable videos are listed with the reason.",
    )
    p.add_argument("src", type=Path, metavar="SRC", help="a video file or a folder of videos")
    p.add_argument("out", type=Path, metavar="OUT", help="dataset folder")
    p.add_argument("--fps", type=float, default=8.0, help="frame rate of the clips (default: %(default)s)")
    p.add_argument("--frames", type=int, default=49, dest="clip_frames", metavar="T",
                   help="frames per clip (default: %(default)s)")
    p.add_argument("--size", type=int, default=128,
                   help="the default buckets hold about SIZE x SIZE pixels: SIZExSIZE and 4:3 and 5:3 landscape and "
                   "portrait shapes, sides multiples of 16 (default: %(default)s)")
    p.add_argument("--buckets", metavar="HxW,...",
                   help="clip shapes to choose from instead, e.g. 128x128,96x160,160x96 (sides multiples of 16)")
    p.add_argument("--refs", type=int, default=3, dest="num_refs", metavar="K",
                   help="reference views per clip (default: %(default)s)")
    p.add_argument("--workers", type=int, default=1, metavar="W", help="worker processes (default: %(default)s)")
    p.add_argument("--overwrite", action="store_true", help="delete an earlier dataset in OUT and start again")


def _cache_latents_parser(sub) -> None:
    p = sub.add_parser(
        "cache-latents", help="encode a clip store's videos and captions once, so training skips decoding",
        description="Encode the middle --frames frames of every clip in DATA with --model's VAE, and its caption "
        "with the model's text encoder, into DATA/latents/<model>-<N>f-<hash>/ (safetensors, one file per clip, "
        "plus a manifest of what the cache was made for). Training on the same model and frame count uses the "
        "cache when it is present. Rerunning resumes: finished clips are skipped.",
    )
    p.add_argument("data", type=Path, metavar="DATA", help="clip store (made by idvid synth or idvid prepare)")
    p.add_argument("--model", required=True, help="DiT preset name or model directory (list with `idvid info`)")
    p.add_argument("--frames", type=int, required=True, dest="num_frames", metavar="N",
                   help="frames per clip, as the training config's data.num_frames")
    p.add_argument("--stride", type=int, default=1, dest="frame_stride", metavar="S",
                   help="take every S-th frame (default: %(default)s)")
    p.add_argument("--split", help="only clips of this split, e.g. train (default: every clip)")
    p.add_argument("--batch-size", type=int, default=4, metavar="B",
                   help="clips of one size per VAE call; lower it if the VAE runs out of memory (default: %(default)s)")
    p.add_argument("--device", default=None, help="torch device, e.g. cpu or cuda (default: cpu)")


def cmd_cache_latents(args) -> None:
    from idvid.data.cache_latents import cache_latents, format_cache_report

    report = cache_latents(args.data, args.model, args.num_frames, frame_stride=args.frame_stride,
                           batch_size=args.batch_size, split=args.split, device=args.device)
    print(format_cache_report(report))


def _train_parser(sub) -> None:
    p = sub.add_parser("train", help="train the identity adapter (or a tiny backbone) from a YAML config",
                       description="Train from a YAML config (a file, or a shipped name such as `tiny`).")
    p.add_argument("config", help="training YAML, or the name of a shipped config (tiny)")
    p.add_argument("--out", default="runs/train", help="output folder for checkpoints, logs and final/")
    p.add_argument("--resume", action="store_true", help="continue from the latest complete checkpoint in --out")
    p.add_argument("--workers", type=int, metavar="N",
                   help="processes that decode clips ahead of the step (default: the config's data.workers, "
                        "else 0: in the training process)")


def cmd_train(args) -> None:
    from idvid.atomic import check_writable_folder
    from idvid.training.config import load_config
    from idvid.training.trainer import train

    config = load_config(args.config)
    if args.workers is not None:
        config.data.workers = args.workers
    config.validate()
    check_writable_folder(args.out)
    result = train(config, args.out, resume=args.resume)
    if result["final"] is not None:
        print(f"step {result['step']}: saved {result['final']}")


def _convert_parser(sub) -> None:
    p = sub.add_parser("convert", help="turn FantasyID's research files (mesh pickle, DECA, FLAME) into plain arrays, once",
                       description="Convert the files FantasyID's 3D prior needs into safetensors/npz in --out, read "
                       "through loaders that admit only arrays: the release's assets/transform.pkl (FLAME's mesh "
                       "hierarchy), DECA's deca_model.tar and FLAME 2020's generic_model.pkl (their licences do "
                       "not allow shipping them). Use <FantasyID folder>/face_prior or $IDVID_FANTASYID_PRIOR as --out.")
    p.add_argument("--mesh-sampling", type=Path, metavar="PKL", help="the release's assets/transform.pkl")
    p.add_argument("--deca", type=Path, metavar="TAR", help="DECA's deca_model.tar (its coarse encoder is kept)")
    p.add_argument("--flame", type=Path, metavar="PKL", help="FLAME 2020's generic_model.pkl")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder to write the converted files into")
    p.add_argument("--overwrite", action="store_true", help="replace files already in --out")


def _train_motion_parser(sub) -> None:
    p = sub.add_parser("train-motion", help="train the nano engine's motion model (text -> head and face controls)",
                       description="Train the nano engine's motion model on procedural motion programs "
                       "(and the motion of clip stores' train clips) into --out, a MotionGenerator folder.")
    p.add_argument("--out", required=True, help="output folder: the MotionGenerator, checkpoints and logs")
    p.add_argument("--steps", type=int, help="optimiser steps (deterministic schedule; --resume continues exactly)")
    p.add_argument("--minutes", type=float, help="wall-clock budget (with --steps: whichever ends first)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1, to share the CPU)")
    p.add_argument("--clips", nargs="+", default=[], metavar="DIR",
                   help="clip stores (idvid prepare / synth output) whose train clips' motion is mixed in")
    p.add_argument("--real-fraction", type=float, metavar="F",
                   help="share of each batch's rows from --clips (default: the trainer's, a quarter)")
    p.add_argument("--resume", action="store_true", help="continue from the latest complete checkpoint in --out")


def cmd_train_motion(args) -> None:
    import torch

    from idvid.atomic import check_writable_folder
    from idvid.data.tracks import load_tracks
    from idvid.engines.nano.train import MotionTrainConfig, check_budget, format_summary, train

    check_budget(args.minutes, args.steps)
    if args.threads < 1:
        raise ConfigError(f"--threads must be >= 1, got {args.threads}")
    config = MotionTrainConfig(**({} if args.real_fraction is None else {"real_fraction": args.real_fraction}))
    check_writable_folder(args.out)
    torch.set_num_threads(args.threads)
    tracks, left_out = load_tracks(args.clips)  # before the model: a bad --clips fails first
    print(format_summary(train(args.out, minutes=args.minutes, steps=args.steps, seed=args.seed, config=config,
                               tracks=tracks, tracks_left_out=len(left_out), resume=args.resume)))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="idvid",
        description="Identity-preserving video generation: a photo of a person + a prompt -> a video of them.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EXAMPLES,
    )
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _generate_parser(sub)
    _faces_parser(sub)
    _eval_parser(sub)
    _bench_parser(sub)
    _synth_parser(sub)
    _prepare_parser(sub)
    _cache_latents_parser(sub)
    _train_parser(sub)
    _train_motion_parser(sub)
    _convert_parser(sub)
    sub.add_parser("info", help="versions, device, presets and where each model loads from",
                   description="Print versions, the compute device, the model presets and where each resolves from.")
    app = sub.add_parser("app", help="the web app: every engine in a page, and as an API endpoint",
                         description="Serve the web app (Gradio). Local only by default; the same generation is "
                         "the API endpoint /generate (gradio_client).")
    app.add_argument("--host", default="127.0.0.1", help="address to serve on (default: %(default)s, this machine only)")
    app.add_argument("--port", type=int, default=7860)
    return parser


def cmd_generate(args) -> None:
    from idvid.engines import GenerationOptions, load_engine, plan_generation
    from idvid.engines.nano.drive import check_faces, probe
    from idvid.engines.nano.inputs import checked
    from idvid.engines.output import understood_lines
    from idvid.engines.request import check_prompt
    from idvid.face import FaceAnalyzer

    # Everything the user typed is checked before the model loads (seconds to minutes).
    check_output(args.out, args.overwrite, (".mp4",))
    check_prompt(args.prompt)
    options = GenerationOptions(
        num_frames=args.num_frames, height=args.height, width=args.width,
        num_inference_steps=args.num_inference_steps, guidance_scale=args.guidance_scale,
        identity_guidance_scale=args.identity_guidance_scale, seed=args.seed, face_index=args.face_index,
        fps=args.fps, negative_prompt=args.negative_prompt,
    )
    runtime = _runtime(args)
    nano_inputs = {name: getattr(args, name) for name in ("drive", "audio", "say", "background")
                   if getattr(args, name) is not None}
    if nano_inputs and args.seconds is not None:
        raise ConfigError(f"{'the driving video' if args.drive else 'the sound'} sets the length: leave out --frames "
                          "and --seconds")
    if args.no_audio and not {"drive", "audio", "say"} & set(nano_inputs):
        logging.getLogger("idvid").warning("--no-audio does nothing without --drive, --audio or --say: nothing brings "
                                           "sound")
    # the engine takes the length from the driving video or the sound itself; planned here the same way
    planned = checked(args.model, options, **nano_inputs) if nano_inputs else options
    engine_inputs = dict(nano_inputs, **_face_mesh_input(args.model, args.face_mesh))
    if args.no_audio:
        engine_inputs["keep_sound"] = False
    plan = plan_generation(args.model, planned, device=args.device, runtime=runtime, photos=len(args.face))
    if args.seconds is not None:
        options = _with_seconds(options, args.seconds, plan)
        plan_generation(args.model, options, device=args.device, runtime=runtime, photos=len(args.face))
    # The faces too (none, several, too small, different people): the engine takes these analyses.
    analyzer = FaceAnalyzer()
    faces = analyzer.references(args.face, args.face_index)
    if args.drive is not None:
        check_faces(probe(args.drive), analyzer)
    print(f"loading model {args.model} ...", file=sys.stderr)
    engine = load_engine(args.model, device=args.device, runtime=runtime)
    result = engine(prompt=args.prompt, faces=faces, output_type="stream", **options.as_kwargs(), **engine_inputs)
    path = result.save(args.out, overwrite=args.overwrite)
    if result.understood:  # what was not used was said as a warning when generation started
        print(understood_lines(engine.engine_name, result.understood)[0])
    frames, height, width = result.frames.shape[:3]
    print(f"wrote {path} ({frames} frames, {width}x{height}, {result.fps:g} fps)")


def _face_mesh_input(model: str, face_mesh: Path | None) -> dict:
    """``{"face_mesh": points}`` for a FantasyID model (read and checked now, before loading)."""
    from idvid.engines import engine_kind

    if engine_kind(model) == "fantasyid":
        from idvid.engines.fantasyid.limits import checked_face_mesh

        points = checked_face_mesh(model, face_mesh)
        return {} if points is None else {"face_mesh": points}
    if face_mesh is not None:
        raise ConfigError(f"--face-mesh is FantasyID's 3D face shape; {model} does not take it")
    return {}


def cmd_convert(args) -> None:
    from idvid.engines.fantasyid.convert import convert_face_prior

    if args.mesh_sampling is None and args.deca is None and args.flame is None:
        raise ConfigError("give what to convert: --mesh-sampling, or --deca with --flame")
    if (args.deca is None) != (args.flame is None):
        raise ConfigError("--deca and --flame go together: FantasyID's 3D prior needs both")
    for line in convert_face_prior(args.out, args.mesh_sampling, args.deca, args.flame, args.overwrite):
        print(line)


def _with_seconds(options, seconds: float, plan):
    """``options`` with the frame count that lasts ``seconds`` at the plan's fps, on its frame grid."""
    import dataclasses

    if options.num_frames is not None:
        raise ConfigError("give --frames or --seconds, not both")
    if not math.isfinite(seconds) or seconds <= 0:
        raise ConfigError(f"--seconds must be a positive number, got {seconds:g}")
    step = plan.frame_step
    frames = max(2, round((seconds * plan.options["fps"] - 1) / step) * step + 1)
    return dataclasses.replace(options, num_frames=frames)


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


def cmd_bench(args) -> None:
    from idvid.eval.bench_command import bench_command

    report = bench_command(suite=args.suite, model=args.model, out=args.out, device=args.device,
                           overwrite=args.overwrite, compare=args.compare, runtime=_runtime(args))
    if report:  # under `accelerate launch`, the main process reports for all
        print(report)


def cmd_synth(args) -> None:
    from idvid.data.synth import format_report, synthesize

    report = synthesize(args.out, identities=args.identities, clips_per_identity=args.clips_per_identity,
                        seed=args.seed, size=args.size, num_frames=args.num_frames,
                        heldout_fraction=args.heldout_fraction, workers=args.workers, progress=True,
                        overwrite=args.overwrite, face_fraction=args.face_fraction)
    print(format_report(report))
    print(f"wrote {args.out} (index.jsonl, report.json)")


def cmd_prepare(args) -> None:
    from idvid.data.crop_buckets import parse_buckets
    from idvid.data.prepare import PrepareOptions, format_prepare_report, prepare

    if args.size < 32 or args.size % 2 or args.clip_frames < 2 or not 0 < args.fps < math.inf or args.num_refs < 1:
        raise ConfigError("--size must be even and >= 32, --frames >= 2, --fps > 0, --refs >= 1")
    buckets = parse_buckets(args.buckets) if args.buckets else ()
    options = PrepareOptions(fps=args.fps, clip_frames=args.clip_frames, min_clip_frames=min(17, args.clip_frames),
                             size=args.size, num_refs=args.num_refs, buckets=buckets)
    report = prepare(args.src, args.out, options, workers=args.workers, progress=True, overwrite=args.overwrite)
    print(format_prepare_report(report))
    print(f"wrote {args.out} (index.jsonl, prepare_report.json)")


def cmd_info(args) -> None:
    from idvid.info import describe

    print(describe())


def cmd_app(args) -> None:
    try:
        from idvid.app import serve
    except ImportError as err:
        raise ConfigError(f"the app needs gradio: pip install 'idvid[app]' ({err})") from None
    serve(args.host, args.port)


COMMANDS = {"app": cmd_app, "generate": cmd_generate, "faces": cmd_faces, "eval": cmd_eval, "bench": cmd_bench, "info": cmd_info,
            "synth": cmd_synth, "prepare": cmd_prepare, "cache-latents": cmd_cache_latents, "train": cmd_train,
            "train-motion": cmd_train_motion, "convert": cmd_convert}


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where the program is, so it stops exactly as on Ctrl-C: every
    temporary output is removed on the way out."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _stop(signum: int, frame) -> None:
    raise Stopped(signum)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(format="warning: %(message)s", level=logging.WARNING)
    # Only signals left at their default: under nohup SIGHUP stays ignored.
    defaults = [s for s in (signal.SIGTERM, signal.SIGHUP) if signal.getsignal(s) == signal.SIG_DFL]
    previous = {s: signal.signal(s, _stop) for s in defaults}
    try:
        COMMANDS[args.command](args)
    except IdvidError as err:
        if args.debug:
            raise
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as stop:
        signum = getattr(stop, "signum", signal.SIGINT)
        print(f"stopped by {signal.Signals(signum).name}; nothing half-written was kept", file=sys.stderr)
        return 128 + signum
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0


def run() -> int:
    """The ``idvid`` command: :func:`main`, then a quick exit. Objects are frozen out of the
    collection Python runs at exit, which walks all torch's and transformers' (about 1 s)."""
    import gc

    code = main()
    gc.freeze()
    return code


if __name__ == "__main__":
    sys.exit(run())
