"""idvid train and train-motion: the identity adapter (or a tiny backbone) and nano's motion model."""

from __future__ import annotations

from idvid.errors import ConfigError


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


def add_parsers(sub) -> None:
    _train_parser(sub)
    _train_motion_parser(sub)


COMMANDS = {"train": cmd_train, "train-motion": cmd_train_motion}
