"""DECA's coarse encoder (Feng et al., SIGGRAPH 2021), the half of DECA FantasyID's 3D prior uses:
a 224 px face crop -> ResNet-50 -> MLP -> FLAME's shape, expression and pose codes.

Parameter names follow DECA's checkpoint (``E_flame`` of ``deca_model.tar``), turned once into
``deca.safetensors`` by ``idvid convert`` (DECA's licence does not allow shipping it).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

# DECA's code layout: 100 shape, 50 texture, 50 expression, 6 pose, 3 camera, 27 light values
CODE_LAYOUT = (("shape", 100), ("tex", 50), ("exp", 50), ("pose", 6), ("cam", 3), ("light", 27))
CROP = 224
BOX_SCALE = 1.1 * 1.25  # DECA's crop: the 68-landmark box's mean side x 1.1, then x 1.25


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, in_channels: int, width: int, stride: int = 1) -> None:
        super().__init__()
        out = width * self.expansion
        self.conv1 = nn.Conv2d(in_channels, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.downsample = nn.Sequential(nn.Conv2d(in_channels, out, 1, stride=stride, bias=False),
                                        nn.BatchNorm2d(out)) if stride != 1 or in_channels != out else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return F.relu(y + (x if self.downsample is None else self.downsample(x)))


class ResNet(nn.Module):
    """ResNet-50's body (``blocks`` per stage, ``width`` channels in the first) -> (B, 8 width x 4)."""

    def __init__(self, blocks: tuple[int, ...] = (3, 4, 6, 3), width: int = 64) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        channels = width
        for stage, count in enumerate(blocks):
            stage_width = width << stage
            layers = []
            for i in range(count):
                layers.append(Bottleneck(channels, stage_width, 2 if i == 0 and stage > 0 else 1))
                channels = stage_width * Bottleneck.expansion
            self.add_module(f"layer{stage + 1}", nn.Sequential(*layers))
        self.out_features = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, stride=2, padding=1)
        for stage in range(4):
            x = getattr(self, f"layer{stage + 1}")(x)
        return x.mean((2, 3))  # DECA's 7x7 average pool on a 224 px input


class DecaEncoder(nn.Module):
    """(B, 3, 224, 224) RGB in [0, 1] -> DECA's code, split by :data:`CODE_LAYOUT`."""

    def __init__(self, blocks: tuple[int, ...] = (3, 4, 6, 3), width: int = 64, hidden: int = 1024) -> None:
        super().__init__()
        self.config = dict(blocks=tuple(blocks), width=width, hidden=hidden)
        self.encoder = ResNet(blocks, width)
        size = sum(n for _, n in CODE_LAYOUT)
        self.layers = nn.Sequential(nn.Linear(self.encoder.out_features, hidden), nn.ReLU(), nn.Linear(hidden, size))

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        code = self.layers(self.encoder(images))
        return dict(zip((name for name, _ in CODE_LAYOUT), code.split([n for _, n in CODE_LAYOUT], dim=1)))


def deca_crop(photo: np.ndarray, face_points: np.ndarray) -> np.ndarray:
    """DECA's input: the square around ``face_points`` (the face outline and brows, in pixels),
    its side the box's mean side x 1.1 x 1.25, resampled to 224 px; (224, 224, 3) float32 in [0, 1]."""
    import cv2

    left, top = face_points.min(0)
    right, bottom = face_points.max(0)
    size = int((right - left + bottom - top) / 2 * BOX_SCALE)
    cx, cy = (left + right) / 2, (top + bottom) / 2
    scale = (CROP - 1) / size
    matrix = np.array([[scale, 0, (CROP - 1) / 2 - scale * cx], [0, scale, (CROP - 1) / 2 - scale * cy]])
    crop = cv2.warpAffine(photo.astype(np.float32) / 255, matrix, (CROP, CROP), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT)
    return crop
