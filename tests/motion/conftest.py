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


@pytest.fixture(scope="session")
def synth_store(tmp_path_factory):
    """A tiny ``idvid synth`` store: 2 identities x 3 clips of 17 frames at 128 px, one identity
    held out. Seed 4 gives the held-out clips a head shake, a tilt then a look up, and a look
    around (every head axis moves); the train clips have captions."""
    from idvid.data.synth import synthesize

    root = tmp_path_factory.mktemp("synth_tracks")
    synthesize(root, identities=2, clips_per_identity=3, seed=4, size=128, num_frames=17, heldout_fraction=0.5,
               progress=False)
    return root
