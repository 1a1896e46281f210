"""The writer's read-ahead: the same items in order, errors where they happened, and an early stop
that closes the source in its own thread."""

import threading

import pytest

from idvid.video.ahead import read_ahead


def test_items_come_in_order_and_memory_stays_bounded():
    made = []

    def source():
        for i in range(50):
            made.append(i)
            yield i

    seen = []
    for item in read_ahead(source(), depth=3):
        seen.append(item)
        assert len(made) - len(seen) <= 3 + 1  # at most the queue plus the one being put
    assert seen == list(range(50))


def test_an_error_in_the_source_is_raised_to_the_reader():
    def source():
        yield 1
        raise ValueError("frame 1 is wrong")

    reader = read_ahead(source())
    assert next(reader) == 1
    with pytest.raises(ValueError, match="frame 1 is wrong"):
        next(reader)


def test_stopping_early_closes_the_source_in_the_reading_thread():
    closed = threading.Event()

    def source():
        try:
            for i in range(10_000):
                yield i
        finally:
            closed.set()

    reader = read_ahead(source(), depth=2)
    assert next(reader) == 0
    reader.close()
    assert closed.wait(5)
