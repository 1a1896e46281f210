"""idvid synth, prepare and cache-latents: training data."""

from __future__ import annotations

import math
from pathlib import Path

from idvid.errors import ConfigError


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


def cmd_synth(args) -> None:
    from idvid.data.synth import format_report, synthesize

    report = synthesize(args.out, identities=args.identities, clips_per_identity=args.clips_per_identity,
                        seed=args.seed, size=args.size, num_frames=args.num_frames,
                        heldout_fraction=args.heldout_fraction, workers=args.workers, progress=True,
                        overwrite=args.overwrite, face_fraction=args.face_fraction)
    print(format_report(report))
    print(f"wrote {args.out} (index.jsonl, report.json)")


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


def add_parsers(sub) -> None:
    _synth_parser(sub)
    _prepare_parser(sub)
    _cache_latents_parser(sub)


COMMANDS = {"synth": cmd_synth, "prepare": cmd_prepare, "cache-latents": cmd_cache_latents}
