"""One small synthetic clip store for the training tests (2 training and 1 held-out identity)."""

import pytest
from training_helpers import make_store


@pytest.fixture(scope="session")
def store(tmp_path_factory):
    return make_store(tmp_path_factory.mktemp("training") / "clips")
