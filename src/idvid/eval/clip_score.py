"""CLIP image-text similarity with a local transformers CLIP (CLIPModel + CLIPProcessor)."""

from __future__ import annotations

import os
import threading
import warnings
from pathlib import Path

import numpy as np

from idvid.errors import ModelFileError


class ClipScorer:
    """Scores frames against a prompt: 100 x cosine of CLIP's projected image and text embeddings.

    path: a local directory that ``CLIPModel.from_pretrained`` and ``CLIPProcessor.from_pretrained``
    read (config, safetensors weights, tokenizer and image-processor files). Runs on the CPU in
    float32. Missing weights raise ModelFileError; unexpected ones are reported as a warning.
    """

    def __init__(self, path: str | os.PathLike):
        try:
            import torch  # noqa: F401
            from transformers import CLIPModel, CLIPProcessor
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("CLIPScore needs transformers and torch: pip install transformers torch") from exc
        self.path = Path(path)
        try:
            model, info = CLIPModel.from_pretrained(self.path, output_loading_info=True)
            self.processor = CLIPProcessor.from_pretrained(self.path)
        except (OSError, ValueError) as exc:
            raise ModelFileError(f"{self.path} is not a loadable CLIP directory ({_first_line(exc)})") from None
        if info.get("missing_keys"):
            raise ModelFileError(
                f"{self.path}: CLIP weights are missing {len(info['missing_keys'])} tensors, "
                f"e.g. {sorted(info['missing_keys'])[:3]}"
            )
        if info.get("unexpected_keys"):
            warnings.warn(
                f"{self.path}: ignored {len(info['unexpected_keys'])} unexpected CLIP tensors, "
                f"e.g. {sorted(info['unexpected_keys'])[:3]}",
                stacklevel=2,
            )
        self.model = model.eval()
        # CLIP's text encoder has 77 positions; longer prompts are cut to that many tokens.
        self.max_length = int(model.config.text_config.max_position_embeddings)
        self._lock = threading.Lock()

    def __call__(self, frames: np.ndarray, prompt: str) -> np.ndarray:
        """frames: (N, H, W, 3) uint8 RGB; prompt: text -> (N,) float64, 100 x cos(image_n, text)."""
        import torch

        text = self.processor.tokenizer(
            [prompt], padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        )
        images = self.processor.image_processor(images=[np.asarray(f) for f in frames], return_tensors="pt")
        with self._lock, torch.inference_mode():
            # 1. The full forward returns the projected embeddings, L2-normalised, in every
            #    transformers version (the get_*_features return types changed in v5).
            out = self.model(
                input_ids=text["input_ids"],
                attention_mask=text.get("attention_mask"),
                pixel_values=images["pixel_values"],
            )
            # 2. Cosine per frame; normalise again in case a version returns raw projections.
            image = torch.nn.functional.normalize(out.image_embeds.float(), dim=-1)
            words = torch.nn.functional.normalize(out.text_embeds.float(), dim=-1)
            cos = (image @ words.T)[:, 0]
        return 100.0 * cos.double().numpy()


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
