"""PatchEncoder: its tokens carry the crop from the first step (what identity learning starts from)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from idvid.models.backbones.scratch import FACE_ENCODER
from idvid.models.face_tokenizers import PatchEncoder

ASSETS = Path(__file__).resolve().parents[2] / "assets"


def tinted_photos(size: int) -> torch.Tensor:
    """(8, 3, S, S) in [-1, 1]: the two sample photos, each plain and with three colour casts
    (the skin-tone and hair-colour differences between synthetic people are of this kind)."""
    crops = []
    for name in ("astronaut.jpg", "grace_hopper.jpg"):
        photo = np.asarray(Image.open(ASSETS / name).convert("RGB").resize((size, size)), np.float32) / 127.5 - 1
        for tint in ((0, 0, 0), (0.3, 0.1, -0.1), (-0.3, -0.3, -0.2), (0.1, -0.2, 0.3)):
            crops.append(np.clip(photo + np.array(tint, np.float32), -1, 1))
    return torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2)


@torch.no_grad()
def test_fresh_patch_tokens_differ_between_crops():
    """At initialisation most of the tokens' energy must vary with the crop. With conv biases in
    the stem and no input norm it was ~1% (the tokens were the biases and positions), and identity
    training then collapsed them to one output for everybody."""
    cfg = FACE_ENCODER
    torch.manual_seed(0)
    encoder = PatchEncoder(cfg["crop_size"], cfg["appearance_grid"], cfg["appearance_width"], cfg["encoder_heads"],
                           cfg["appearance_layers"], cfg["hidden_dim"], mlp_ratio=4.0)
    tokens = encoder(tinted_photos(cfg["crop_size"]))  # (8, G*G, D)
    share = tokens.var(dim=0).sum() / tokens.square().mean(dim=0).sum()
    assert share > 0.3, f"only {share:.3f} of the token energy depends on the crop"
