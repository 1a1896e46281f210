"""Worker processes for the data commands."""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager


@contextmanager
def spawn_pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """A process pool started with spawn (MediaPipe and OpenCV state must not be forked).

    When the caller stops early (an error, Ctrl-C, SIGTERM) the queued jobs are dropped: only the
    ones already running finish, instead of the whole remaining dataset."""
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"))
    try:
        yield pool
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
