"""Constructed videos for the evaluation tests (and the eval speed benchmark)."""

from __future__ import annotations

import numpy as np


def on_canvas(photo: np.ndarray, height: int, width: int, dx: float = 0.0, dy: float = 0.0, angle: float = 0.0,
              scale: float = 1.0, fill: int = 40) -> np.ndarray:
    """The photo centred on a (height, width) grey canvas, shifted by (dx, dy) px, rotated by
    ``angle`` degrees (counter-clockwise, about the photo centre) and scaled. (H, W, 3) uint8."""
    import cv2

    ph, pw = photo.shape[:2]
    centre = (pw / 2.0, ph / 2.0)
    matrix = cv2.getRotationMatrix2D(centre, angle, scale)
    matrix[:, 2] += (width / 2.0 - centre[0] + dx, height / 2.0 - centre[1] + dy)
    return cv2.warpAffine(photo, matrix, (width, height), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(fill, fill, fill))


def translated_clip(photo: np.ndarray, frames: int, step: int, height: int = 480, width: int = 720) -> np.ndarray:
    """(T, H, W, 3) uint8 windows sliding over the photo stretched to a wider strip, so frame
    t+1 is frame t moved ``step`` (integer) px to the right, textured everywhere, no wrap-around."""
    import cv2

    span = abs(step) * (frames - 1)
    strip = cv2.resize(photo, (width + span, height), interpolation=cv2.INTER_AREA)
    starts = [span - step * t if step >= 0 else -step * t for t in range(frames)]
    return np.stack([strip[:, x:x + width] for x in starts])


def rotated_clip(photo: np.ndarray, frames: int, step_deg: float, height: int = 480, width: int = 720) -> np.ndarray:
    """(T, H, W, 3) uint8: the photo on a canvas, rotated by ``step_deg`` more each frame."""
    return np.stack([on_canvas(photo, height, width, angle=step_deg * t) for t in range(frames)])


def jitter_clip(photo: np.ndarray, frames: int, amplitude: float = 2.0, height: int = 480, width: int = 720,
                seed: int = 0) -> np.ndarray:
    """(T, H, W, 3) uint8: the photo on a canvas with small smooth sub-pixel drift (a still,
    pasted face with camera shake)."""
    t = np.arange(frames)
    rng = np.random.default_rng(seed)
    phase = rng.uniform(0, 2 * np.pi, 2)
    dx = amplitude * np.sin(2 * np.pi * t / max(frames, 2) + phase[0])
    dy = 0.5 * amplitude * np.sin(4 * np.pi * t / max(frames, 2) + phase[1])
    return np.stack([on_canvas(photo, height, width, dx=x, dy=y) for x, y in zip(dx, dy)])


# ---- a minimal ONNX writer ------------------------------------------------------------------
# The `onnx` package is not installed here (its current releases need protobuf >= 5, which
# mediapipe 0.10.21 refuses), so tiny torch modules are serialised to ONNX by hand: protobuf
# wire format, the few ModelProto fields a feed-forward graph needs (onnx.proto field numbers).


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, value) -> bytes:
    """One protobuf field: int -> varint, bytes/str -> length-delimited."""
    if isinstance(value, int):
        return _varint(number << 3) + _varint(value)
    data = value.encode() if isinstance(value, str) else value
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _tensor(name: str, array: np.ndarray) -> bytes:
    array = np.ascontiguousarray(array, dtype=np.float32)
    dims = b"".join(_field(1, int(d)) for d in array.shape)
    return dims + _field(2, 1) + _field(8, name) + _field(9, array.tobytes())


def _value_info(name: str, shape) -> bytes:
    dims = b"".join(_field(1, _field(1, int(d))) for d in shape)
    tensor_type = _field(1, 1) + _field(2, dims)
    return _field(1, name) + _field(2, _field(1, tensor_type))


def _attribute(name: str, value) -> bytes:
    if isinstance(value, int):
        return _field(1, name) + _field(3, value) + _field(20, 2)
    return _field(1, name) + b"".join(_field(8, int(v)) for v in value) + _field(20, 7)


def _node(op: str, inputs, outputs, **attributes) -> bytes:
    body = b"".join(_field(1, i) for i in inputs) + b"".join(_field(2, o) for o in outputs)
    body += _field(4, op) + b"".join(_field(5, _attribute(k, v)) for k, v in attributes.items())
    return body


def export_tiny_onnx(module, path, input_shape) -> None:
    """Write a torch ``nn.Sequential`` of Conv2d (no padding/dilation/groups), ReLU, Flatten,
    Linear and AdaptiveAvgPool2d(1) as an ONNX model (opset 11) with input ``x`` of
    ``input_shape`` (N, C, H, W) and output ``y``."""
    import torch

    nodes, initializers, current = [], [], "x"
    for k, layer in enumerate(module):
        out = f"t{k}"
        if isinstance(layer, torch.nn.Conv2d):
            w, b = f"w{k}", f"b{k}"
            initializers += [_tensor(w, layer.weight.detach().numpy()), _tensor(b, layer.bias.detach().numpy())]
            nodes.append(_node("Conv", [current, w, b], [out], kernel_shape=list(layer.kernel_size),
                               strides=list(layer.stride)))
        elif isinstance(layer, torch.nn.ReLU):
            nodes.append(_node("Relu", [current], [out]))
        elif isinstance(layer, torch.nn.Flatten):
            nodes.append(_node("Flatten", [current], [out], axis=1))
        elif isinstance(layer, torch.nn.AdaptiveAvgPool2d):
            nodes.append(_node("GlobalAveragePool", [current], [out]))
        elif isinstance(layer, torch.nn.Linear):
            w, b = f"w{k}", f"b{k}"
            initializers += [_tensor(w, layer.weight.detach().numpy()), _tensor(b, layer.bias.detach().numpy())]
            nodes.append(_node("Gemm", [current, w, b], [out], transB=1))
        else:
            raise TypeError(f"export_tiny_onnx does not handle {type(layer).__name__}")
        current = out
    nodes.append(_node("Identity", [current], ["y"]))
    with torch.no_grad():
        out_shape = module(torch.zeros(input_shape)).shape
    graph = b"".join(_field(1, n) for n in nodes) + _field(2, "tiny")
    graph += b"".join(_field(5, t) for t in initializers)
    graph += _field(11, _value_info("x", input_shape)) + _field(12, _value_info("y", out_shape))
    model = _field(1, 7) + _field(2, "idvid-tests") + _field(7, graph) + _field(8, _field(1, "") + _field(2, 11))
    with open(path, "wb") as f:
        f.write(model)
