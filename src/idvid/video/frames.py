"""Frame utilities: model outputs to uint8 frames, and contact strips for reports.

Works on numpy arrays and on torch tensors (detected by duck typing, so importing this
module never imports torch).
"""

from __future__ import annotations

import numpy as np

LAYOUTS = ("THWC", "TCHW")


def to_uint8(
    video, value_range: tuple[float, float] = (-1, 1), layout: str | None = None
) -> np.ndarray:
    """Convert a video array or tensor to ``(T, H, W, 3)`` uint8 RGB.

    Args:
        video: ``(T, H, W, 3)`` or ``(T, 3, H, W)``; a numpy array or torch tensor
            (any device, float32/16/bfloat16 or uint8).
        value_range: ``(lo, hi)`` of float input: ``(-1, 1)`` for VAE decoder output
            (the default), ``(0, 1)`` for image-processor output. ``lo`` maps to 0 and
            ``hi`` to 255, values outside are clipped, and results are rounded to the
            nearest integer (halves to even, as ``numpy.rint``). Ignored for uint8 input,
            which is only re-laid out.
        layout: ``"THWC"`` or ``"TCHW"``; None infers it from where the size-3 axis is
            and raises if both ``video.shape[1]`` and ``video.shape[3]`` are 3.

    Returns:
        C-contiguous ``(T, H, W, 3)`` uint8.

    Raises:
        ValueError: wrong rank, no size-3 channel axis, ambiguous layout, an integer
            dtype other than uint8, a bad ``value_range``, or NaN/inf values.
    """
    array = _as_numpy(video)
    if array.ndim != 4:
        raise ValueError(f"video must be (T, H, W, 3) or (T, 3, H, W), got shape {array.shape}")
    if _infer_layout(array.shape, layout) == "TCHW":
        array = array.transpose(0, 2, 3, 1)
    if array.dtype == np.uint8:
        return np.ascontiguousarray(array)
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"video must be float or uint8, got {array.dtype}")
    return _scale_to_uint8(array, value_range)


def frame_strip(frames: np.ndarray, n: int = 8, height: int = 128) -> np.ndarray:
    """A horizontal strip of ``n`` uniformly spaced frames, for READMEs and reports.

    Args:
        frames: ``(T, H, W, 3)`` uint8 (see :func:`to_uint8`).
        n: frames to show; the first and last are always included. With fewer than
            ``n`` frames, each is shown once.
        height: strip height in pixels; each frame is resized (Lanczos) to
            ``height x round(W * height / H)``, keeping its aspect ratio.

    Returns:
        ``(height, min(n, T) * w, 3)`` uint8, frames left to right in time order.
    """
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(
            f"frames must be (T, H, W, 3) uint8, got {frames.shape} {frames.dtype}; "
            "convert with to_uint8"
        )
    if n < 1 or height < 1:
        raise ValueError(f"n and height must be >= 1, got n={n}, height={height}")
    total, h, w = frames.shape[:3]
    if total == 0:
        raise ValueError("frames is empty")
    width = max(1, round(w * height / h))
    picks = np.linspace(0, total - 1, min(n, total)).round().astype(int)
    return np.concatenate([_resize(frames[i], height, width) for i in picks], axis=1)


def _resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """``(H, W, 3)`` uint8 -> ``(height, width, 3)`` uint8 (Lanczos; as is if same size)."""
    from PIL import Image

    if image.shape[:2] == (height, width):
        return image
    resized = Image.fromarray(image).resize((width, height), Image.Resampling.LANCZOS)
    return np.asarray(resized)


def _as_numpy(video) -> np.ndarray:
    """A numpy view/copy of an array or a (CPU or GPU, any float) torch tensor."""
    if hasattr(video, "detach"):  # torch.Tensor, without importing torch
        tensor = video.detach().cpu()
        if tensor.is_floating_point():
            tensor = tensor.float()  # numpy has no bfloat16
        return tensor.numpy()
    return np.asarray(video)


def _infer_layout(shape: tuple[int, ...], layout: str | None) -> str:
    """``"THWC"`` or ``"TCHW"`` for a 4-D ``shape``; checks an explicit ``layout``."""
    if layout is not None:
        if layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
        axis = 3 if layout == "THWC" else 1
        if shape[axis] != 3:
            raise ValueError(f"layout {layout} needs 3 channels on axis {axis}, got shape {shape}")
        return layout
    last, first = shape[3] == 3, shape[1] == 3
    if last and first:
        raise ValueError(f"layout of shape {shape} is ambiguous; pass layout='THWC' or 'TCHW'")
    if not (last or first):
        raise ValueError(f"video needs 3 channels on axis 1 or 3, got shape {shape}")
    return "THWC" if last else "TCHW"


def _scale_to_uint8(array: np.ndarray, value_range: tuple[float, float]) -> np.ndarray:
    """Map ``[lo, hi]`` linearly to ``[0, 255]``, clip, round to nearest, cast."""
    lo, hi = (float(v) for v in value_range)
    if not hi > lo:
        raise ValueError(f"value_range must be (lo, hi) with hi > lo, got {value_range!r}")
    if not np.isfinite(array).all():
        raise ValueError("video contains NaN or inf values")
    scaled = (array.astype(np.float32) - lo) * (255.0 / (hi - lo))
    return np.rint(np.clip(scaled, 0, 255)).astype(np.uint8)
