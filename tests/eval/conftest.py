"""Fixtures for the evaluation tests; the photos and the shared analyzer come from tests/conftest.py."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def eval_models(analyzer):
    """EvalModels over the session's FaceAnalyzer, with no CLIP / ONNX / FID paths."""
    from idvid.eval import EvalModels, ModelPaths

    return EvalModels(ModelPaths(hf_cache=False), analyzer=analyzer)
