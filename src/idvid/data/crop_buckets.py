"""Size buckets for ``idvid prepare``: clip shapes (H, W) of about the same pixel count, so a
landscape or portrait video keeps its shape instead of being cut to a square.

- :func:`default_buckets`: square, 4:3 and 5:3 landscape and portrait shapes of about
  ``size * size`` pixels; :func:`parse_buckets` reads a user's ``"128x128,96x160"`` instead.
- :func:`choose_bucket`: the bucket whose aspect ratio is closest to the source frame's (in log
  ratio, so 2:1 and 1:2 are equally far from 1:1).
- :func:`crop_box`: the largest region of the bucket's aspect inside the frame that keeps the
  face at least ``face_fraction`` of its height, placed around the face track;
  :func:`crop_to_bucket` cuts it from every frame and resizes it to the bucket.

Every side is a multiple of :data:`BUCKET_MULTIPLE`: the video VAEs downsample 8x and the DiTs
patch 2x2 latents, so such clips map to whole latent grids.
"""

from __future__ import annotations

import math

import numpy as np

from idvid.errors import ConfigError

BUCKET_MULTIPLE = 16
MIN_BUCKET_SIDE = 32
DEFAULT_ASPECTS = (1.0, 4 / 3, 5 / 3)  # width / height of the landscape shapes; each also as portrait
FACE_CENTRE_HEIGHT = 0.45  # the face centre sits this far down the crop (room for hair above, shoulders below)


def _round_side(value: float) -> int:
    return max(MIN_BUCKET_SIDE, BUCKET_MULTIPLE * round(value / BUCKET_MULTIPLE))


def default_buckets(size: int) -> tuple[tuple[int, int], ...]:
    """(H, W) buckets of about ``size**2`` pixels, square first, then landscape and portrait
    pairs (for size 128: 128x128, 112x144, 144x112, 96x160, 160x96)."""
    buckets = []
    for aspect in DEFAULT_ASPECTS:
        landscape = (_round_side(size / math.sqrt(aspect)), _round_side(size * math.sqrt(aspect)))
        for shape in (landscape, landscape[::-1]):
            if shape not in buckets:
                buckets.append(shape)
    return tuple(buckets)


def parse_buckets(text: str) -> tuple[tuple[int, int], ...]:
    """``"128x128,96x160"`` -> ((128, 128), (96, 160)); a one-line ConfigError names a bad entry."""
    buckets = []
    for item in text.split(","):
        height, sep, width = item.strip().lower().partition("x")
        if not (sep and height.isdigit() and width.isdigit()):
            raise ConfigError(f"bucket {item.strip()!r} is not HEIGHTxWIDTH (e.g. 96x160)")
        buckets.append((int(height), int(width)))
    return check_buckets(buckets)


def check_buckets(buckets) -> tuple[tuple[int, int], ...]:
    """-> the buckets as a tuple of (H, W); ConfigError when one is off the 16 px grid, too small, or repeated."""
    buckets = tuple((int(h), int(w)) for h, w in buckets)
    if not buckets:
        raise ConfigError("no size buckets given")
    for h, w in buckets:
        if h % BUCKET_MULTIPLE or w % BUCKET_MULTIPLE or min(h, w) < MIN_BUCKET_SIDE:
            raise ConfigError(f"bucket {h}x{w}: both sides must be multiples of {BUCKET_MULTIPLE} "
                             f"and at least {MIN_BUCKET_SIDE}")
    if len(set(buckets)) < len(buckets):
        raise ConfigError(f"repeated bucket in {','.join(f'{h}x{w}' for h, w in buckets)}")
    return buckets


def bucket_name(bucket: tuple[int, int]) -> str:
    """(H, W) -> "HxW", the clip store's ``bucket`` key."""
    return f"{bucket[0]}x{bucket[1]}"


def choose_bucket(height: int, width: int, buckets) -> tuple[int, int]:
    """The (H, W) bucket whose aspect ratio is closest to a ``height`` x ``width`` frame's
    (the first listed wins a tie)."""
    frame = math.log(width / height)
    return min(buckets, key=lambda b: abs(math.log(b[1] / b[0]) - frame))


def crop_box(face_boxes: np.ndarray, height: int, width: int, bucket: tuple[int, int],
             face_fraction: float) -> tuple[int, int, int, int]:
    """face_boxes: (N, 4) x, y, w, h of the face track -> (x0, y0, crop width, crop height) inside
    the frame, with the bucket's aspect: as large as the frame allows, but no larger than keeps the
    median face ``face_fraction`` of the crop height (a smaller face would be too few pixels once
    resized to the bucket); centred on the face horizontally, face centre at 45% of the height."""
    aspect = bucket[1] / bucket[0]
    cx = float(np.median(face_boxes[:, 0] + face_boxes[:, 2] / 2))
    cy = float(np.median(face_boxes[:, 1] + face_boxes[:, 3] / 2))
    face = float(np.median(face_boxes[:, 3]))
    largest = min(height, width / aspect)
    crop_h = min(largest, max(MIN_BUCKET_SIDE, face / face_fraction))
    crop_w = min(width, max(1, round(crop_h * aspect)))
    crop_h = min(height, max(1, round(crop_h)))
    x0 = int(np.clip(round(cx - crop_w / 2), 0, width - crop_w))
    y0 = int(np.clip(round(cy - FACE_CENTRE_HEIGHT * crop_h), 0, height - crop_h))
    return x0, y0, crop_w, crop_h


def boxes_in_crop(track_boxes: dict[int, np.ndarray], frames: range, box: tuple[int, int, int, int]) -> np.ndarray:
    """track_boxes: frame -> (x, y, w, h) where the face was detected; frames: the clip's frames;
    box: the crop -> (len(frames), 4) the face box of every clip frame as fractions of the crop
    (linearly interpolated between detections, held beyond them; clipped to the crop)."""
    known = sorted(track_boxes)
    values = np.stack([track_boxes[i] for i in known]).astype(np.float64)
    boxes = np.stack([np.interp(list(frames), known, values[:, k]) for k in range(4)], axis=1)
    x0, y0, crop_w, crop_h = box
    x1, y1 = np.clip((boxes[:, 0] - x0) / crop_w, 0, 1), np.clip((boxes[:, 1] - y0) / crop_h, 0, 1)
    x2 = np.clip((boxes[:, 0] + boxes[:, 2] - x0) / crop_w, 0, 1)
    y2 = np.clip((boxes[:, 1] + boxes[:, 3] - y0) / crop_h, 0, 1)
    return np.stack([x1, y1, x2 - x1, y2 - y1], axis=1)


def crop_to_bucket(frames: np.ndarray, box: tuple[int, int, int, int], bucket: tuple[int, int]) -> np.ndarray:
    """(T, H, W, 3) uint8 frames, a crop box (x0, y0, w, h) -> (T, bucket H, bucket W, 3) uint8."""
    import cv2

    x0, y0, crop_w, crop_h = box
    out_h, out_w = bucket
    shrinking = crop_h > out_h
    out = np.empty((len(frames), out_h, out_w, 3), np.uint8)
    for i, frame in enumerate(frames):
        patch = frame[y0:y0 + crop_h, x0:x0 + crop_w]
        out[i] = cv2.resize(patch, (out_w, out_h), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
    return out
