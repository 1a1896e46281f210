"""The ``idvid`` command line: argument handling only; the work lives in the library.

One module per group of commands (generate; faces, eval, bench; data; training; models), each
adding its parsers and naming the function each command runs.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys

from idvid.cli import data, generate, measure, models, training
from idvid.errors import IdvidError

GROUPS = (generate, measure, data, training, models)  # in the order `idvid --help` lists them
COMMANDS = {name: command for group in GROUPS for name, command in group.COMMANDS.items()}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="idvid",
        description="Identity-preserving video generation: a photo of a person + a prompt -> a video of them.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=generate.EXAMPLES,
    )
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.add_parsers(sub)
    return parser


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
