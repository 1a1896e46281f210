"""The motion tests run torch on one thread: their ops are small, and on a shared CPU a second
thread mostly waits (a 25-step sampling call takes ~0.4 s on one thread, seconds on two)."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
