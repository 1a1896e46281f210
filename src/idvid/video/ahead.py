"""Make the next frames while the current ones encode: a bounded read-ahead thread.

Drawing a frame (numpy, OpenCV) and encoding one (libx264) both run outside Python's lock for
most of their time, so on two cores they overlap. The queue holds a few frames: memory stays flat
in the video's length. The source is read, and closed, in the reading thread only.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator

_DONE = object()


def read_ahead(source: Iterable, depth: int = 4) -> Iterator:
    """The items of ``source`` in order, read by a background thread up to ``depth`` ahead; an
    exception in ``source`` is raised here; stopping early closes ``source``."""
    items: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def read() -> None:
        iterator = iter(source)
        try:
            for item in iterator:
                while not stop.is_set():
                    try:
                        items.put((item, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            items.put((_DONE, None))
        except BaseException as error:  # handed to the consumer, raised there
            items.put((_DONE, error))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    reader = threading.Thread(target=read, name="idvid-read-ahead", daemon=True)
    reader.start()
    try:
        while True:
            item, error = items.get()
            if error is not None:
                raise error
            if item is _DONE:
                return
            yield item
    finally:
        stop.set()
        reader.join(timeout=5)
