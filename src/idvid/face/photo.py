"""Read a user's photo into a plain (H, W, 3) uint8 RGB array, or explain in one line why not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from idvid.errors import ImageError

PhotoSource = str | Path | np.ndarray | Image.Image

MIN_PHOTO_SIDE = 32  # below this no detector can find a usable face
DEFAULT_MAX_PIXELS = 40_000_000
# Transparent pixels become mid grey: black would read as dark hair/background to the
# detector and give the crop a hard dark halo.
NEUTRAL_GREY = 128.0

_ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")
# What Pillow raises for damaged files, depending on the codec.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, MemoryError)


def load_photo(source: PhotoSource, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Load a photo from a path, a PIL image or an array.

    Returns (H, W, 3) uint8 RGB, upright (EXIF orientation applied), transparency composited
    on neutral grey, 16-bit data scaled to 8 bits. Raises ImageError for anything unreadable,
    too large (checked from the header, before decoding) or smaller than MIN_PHOTO_SIDE.
    """
    if isinstance(source, np.ndarray):
        if source.ndim in (2, 3):  # refuse huge arrays before converting them
            _check_size(source.shape[:2], "the image array", max_pixels)
        return array_to_rgb(source, name="the image array")
    if isinstance(source, Image.Image):
        _check_size((source.height, source.width), "the PIL image", max_pixels)
        return _pil_to_rgb(_decode(source, "the PIL image"), "the PIL image")
    if isinstance(source, (str, Path)):
        return _load_file(Path(source), max_pixels)
    raise ImageError(f"cannot read a photo from a {type(source).__name__}; pass a file path, a PIL image or an array")


def _load_file(path: Path, max_pixels: int) -> np.ndarray:
    name = str(path)
    if not path.exists():
        raise ImageError(f"photo not found: {name}")
    if not path.is_file():
        raise ImageError(f"{name} is not a file")
    if path.stat().st_size == 0:
        raise ImageError(f"{name} is empty (0 bytes)")
    try:
        image = Image.open(path)  # reads the header only: the size is known before decoding
    except Image.DecompressionBombError:
        raise ImageError(f"{name} is too large to load safely (its header claims a huge size)") from None
    except UnidentifiedImageError:
        raise ImageError(f"{name} is not an image (unknown or unsupported format)") from None
    except _DECODE_ERRORS as exc:
        raise ImageError(f"{name} is not a readable image ({exc})") from None
    with image:
        _check_size((image.height, image.width), name, max_pixels)
        return _pil_to_rgb(_decode(image, name), name)


def _check_size(hw: tuple[int, int], name: str, max_pixels: int) -> None:
    height, width = hw
    if height * width > max_pixels:
        raise ImageError(
            f"{name} is {width}x{height} = {height * width / 1e6:.3g} Mpx, over the "
            f"{max_pixels / 1e6:.3g} Mpx limit; resize it first"
        )
    if min(height, width) < MIN_PHOTO_SIDE:
        raise ImageError(f"{name} is {width}x{height}; photos need at least {MIN_PHOTO_SIDE} px per side")


def _decode(image: Image.Image, name: str) -> Image.Image:
    """Force the full decode (so truncation and corruption surface here) and apply EXIF rotation."""
    try:
        image.load()
    except Image.DecompressionBombError:
        raise ImageError(f"{name} is too large to load safely") from None
    except _DECODE_ERRORS as exc:
        raise ImageError(f"{name} is truncated or corrupt ({exc})") from None
    try:
        return ImageOps.exif_transpose(image)
    except _DECODE_ERRORS:
        # Why: a damaged EXIF block should not lose an otherwise good photo.
        return image


def _pil_to_rgb(image: Image.Image, name: str) -> np.ndarray:
    """(H, W, 3) uint8 RGB from any Pillow mode."""
    mode = image.mode
    if mode.startswith("I;16") or mode in ("I", "F"):
        return array_to_rgb(_wide_to_unit(np.asarray(image), mode), name=name)
    if mode in _ALPHA_MODES or "transparency" in image.info:
        rgba = np.asarray(image.convert("RGBA"))
        return _composite_on_grey(rgba[..., :3].astype(np.float32) / 255.0, rgba[..., 3] / 255.0)
    try:
        # CMYK, YCbCr, L, 1, P: Pillow's own converters are right for these.
        return np.ascontiguousarray(np.asarray(image.convert("RGB")), dtype=np.uint8)
    except (ValueError, OSError) as exc:
        raise ImageError(f"{name} has an unsupported colour mode {mode!r} ({exc})") from None


def _wide_to_unit(values: np.ndarray, mode: str) -> np.ndarray:
    """(H, W) float32 in [0, 1] from 16-bit, 32-bit integer or float single-channel data.

    Why scale and not clip: 16-bit data keeps its full range in the high byte; clipping to
    255 would turn almost every pixel white.
    """
    values = values.astype(np.float64)
    if mode.startswith("I;16"):
        return (values / 65535.0).astype(np.float32)
    top = float(values.max()) if values.size else 0.0
    low = float(values.min()) if values.size else 0.0
    if mode == "F" and low >= 0.0 and top <= 1.0:
        return values.astype(np.float32)
    if low >= 0.0 and top <= 255.0:
        return (values / 255.0).astype(np.float32)
    if low >= 0.0 and top <= 65535.0:
        return (values / 65535.0).astype(np.float32)
    span = max(top - low, 1e-12)  # unusual range: stretch what is there
    return ((values - low) / span).astype(np.float32)


def array_to_rgb(array: np.ndarray, name: str = "the image array") -> np.ndarray:
    """(H, W, 3) uint8 RGB from an in-memory image.

    array: (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) RGB(A); uint8, uint16, or float in [0, 1].
    An alpha channel is composited on neutral grey. A C-contiguous uint8 RGB input is returned
    as is (not copied).
    """
    array = np.asarray(array)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ImageError(f"{name} has shape {array.shape}; expected (H, W), (H, W, 3) or (H, W, 4)")
    if array.dtype == np.uint8 and (array.ndim == 2 or array.shape[2] == 3):
        # Fast path, no float round trip: may share memory with the input (we never write to it).
        return np.ascontiguousarray(np.stack([array] * 3, axis=2) if array.ndim == 2 else array)
    unit = _to_unit(array, name)
    if unit.ndim == 2:
        unit = np.repeat(unit[..., None], 3, axis=2)
    if unit.shape[2] == 4:
        return _composite_on_grey(unit[..., :3], unit[..., 3])
    return np.ascontiguousarray(np.rint(unit * 255.0).astype(np.uint8))


def _to_unit(array: np.ndarray, name: str) -> np.ndarray:
    """Same shape, float32 in [0, 1]; uint8 passes through exactly (x / 255 * 255 rounds back)."""
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255.0
    if array.dtype == np.uint16:
        return array.astype(np.float32) / 65535.0
    if np.issubdtype(array.dtype, np.floating):
        if not np.all(np.isfinite(array)):
            raise ImageError(f"{name} contains NaN or infinite values")
        if array.size and (array.min() < -1e-3 or array.max() > 1.0 + 1e-3):
            raise ImageError(
                f"{name} is float with values in [{array.min():.3g}, {array.max():.3g}]; "
                "float images must lie in [0, 1]"
            )
        return np.clip(array, 0.0, 1.0).astype(np.float32)
    raise ImageError(f"{name} has dtype {array.dtype}; expected uint8, uint16 or float in [0, 1]")


def _composite_on_grey(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """rgb: (H, W, 3) float in [0, 1]; alpha: (H, W) in [0, 1] -> (H, W, 3) uint8 over grey."""
    alpha = np.asarray(alpha, dtype=np.float32)[..., None]
    out = rgb * 255.0 * alpha + NEUTRAL_GREY * (1.0 - alpha)
    return np.ascontiguousarray(np.clip(np.rint(out), 0, 255).astype(np.uint8))
