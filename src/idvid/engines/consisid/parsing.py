"""Face parsing with BiSeNet, as ConsisID masks its face crops.

A port of the 19-class CelebAMask-HQ BiSeNet (ResNet-18 context path, attention refinement,
feature fusion) whose weights ConsisID ships as ``face_encoder/parsing_bisenet.pth``. Names and
shapes are the checkpoint's so it loads strictly. Only the main head's output is computed: the
two auxiliary heads served training (their weights load, and are never run).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CLASSES = 19
# The classes ConsisID whitens out of a face crop: background, neck, cloth, ears, earring,
# hair, hat. Kept: skin, brows, eyes, glasses, nose, mouth, lips.
NOT_FACE = (0, 7, 8, 9, 14, 15, 16, 18)


class ConvBNReLU(nn.Module):
    def __init__(self, cin: int, cout: int, kernel: int = 3):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, padding=kernel // 2, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if cin != cout or stride != 1:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        shortcut = x if self.downsample is None else self.downsample(x)
        return F.relu(shortcut + residual)


def _stage(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(BasicBlock(cin, cout, stride), BasicBlock(cout, cout))


class ResNet18(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = _stage(64, 64, 1)
        self.layer2 = _stage(64, 128, 2)
        self.layer3 = _stage(128, 256, 2)
        self.layer4 = _stage(256, 512, 2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Features at 1/8, 1/16 and 1/32 of the input."""
        x = self.layer1(self.maxpool(F.relu(self.bn1(self.conv1(x)))))
        at8 = self.layer2(x)
        at16 = self.layer3(at8)
        return at8, at16, self.layer4(at16)


def _channel_gate(x: torch.Tensor) -> torch.Tensor:
    return F.adaptive_avg_pool2d(x, 1)


class AttentionRefinementModule(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = ConvBNReLU(cin, cout)
        self.conv_atten = nn.Conv2d(cout, cout, 1, bias=False)
        self.bn_atten = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.conv(x)
        return feat * torch.sigmoid(self.bn_atten(self.conv_atten(_channel_gate(feat))))


class ContextPath(nn.Module):
    def __init__(self):
        super().__init__()
        self.resnet = ResNet18()
        self.arm16 = AttentionRefinementModule(256, 128)
        self.arm32 = AttentionRefinementModule(512, 128)
        self.conv_head32 = ConvBNReLU(128, 128)
        self.conv_head16 = ConvBNReLU(128, 128)
        self.conv_avg = ConvBNReLU(512, 128, kernel=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(ResNet features at 1/8, context features at 1/8)."""
        at8, at16, at32 = self.resnet(x)
        context = self.arm32(at32) + self.conv_avg(_channel_gate(at32))  # global context broadcasts
        up16 = self.conv_head32(F.interpolate(context, at16.shape[2:], mode="nearest"))
        up8 = self.conv_head16(F.interpolate(self.arm16(at16) + up16, at8.shape[2:], mode="nearest"))
        return at8, up8


class FeatureFusionModule(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.convblk = ConvBNReLU(cin, cout, kernel=1)
        self.conv1 = nn.Conv2d(cout, cout // 4, 1, bias=False)
        self.conv2 = nn.Conv2d(cout // 4, cout, 1, bias=False)

    def forward(self, spatial: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        feat = self.convblk(torch.cat((spatial, context), dim=1))
        gate = torch.sigmoid(self.conv2(F.relu(self.conv1(_channel_gate(feat)))))
        return feat * gate + feat


class BiSeNetOutput(nn.Module):
    def __init__(self, cin: int, mid: int, classes: int):
        super().__init__()
        self.conv = ConvBNReLU(cin, mid)
        self.conv_out = nn.Conv2d(mid, classes, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_out(self.conv(x))


class BiSeNet(nn.Module):
    """(B, 3, H, W) ImageNet-normalised RGB -> (B, CLASSES, H, W) class logits."""

    def __init__(self, classes: int = CLASSES):
        super().__init__()
        self.cp = ContextPath()
        self.ffm = FeatureFusionModule(256, 256)
        self.conv_out = BiSeNetOutput(256, 256, classes)
        self.conv_out16 = BiSeNetOutput(128, 64, classes)  # training-time heads: loaded, not run
        self.conv_out32 = BiSeNetOutput(128, 64, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spatial, context = self.cp(x)
        logits = self.conv_out(self.ffm(spatial, context))
        return F.interpolate(logits, x.shape[2:], mode="bilinear", align_corners=True)


def face_only(parser: BiSeNet, image: torch.Tensor) -> torch.Tensor:
    """image: (B, 3, H, W) RGB in [0, 1] -> (B, 1, H, W) bool, True on the face's own parts."""
    mean, std = (image.new_tensor(v)[:, None, None] for v in (IMAGENET_MEAN, IMAGENET_STD))
    labels = parser((image - mean) / std).argmax(dim=1, keepdim=True)
    return ~torch.isin(labels, labels.new_tensor(NOT_FACE))


__all__ = ["BiSeNet", "NOT_FACE", "face_only"]
