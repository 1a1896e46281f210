"""Silence what native libraries (TFLite, absl, glog inside mediapipe) print on start-up.

They write straight to file descriptor 2 before any logging is configured, so Python's
logging and their environment variables cannot stop it. We only redirect while a graph
is built and warmed up, never around regular calls, so real errors still show.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def quiet_native_stderr() -> Iterator[None]:
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
