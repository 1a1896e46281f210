"""The two layers of a photo: a clean background plate and the person's own colours.

The renderer moves the person over a background. Two things need preparing once per photo:
- the background plate: the photo with the person removed and filled in, so that whatever
  the moving person uncovers shows plausible background, and
- the foreground colours: the photo's colours with the old background taken out of the soft
  mask edge (otherwise a blue sky fringe follows the hair onto a beach).
"""

from __future__ import annotations

import numpy as np

MATTING_FROM = 0.12  # alpha above which edge colours solve the matting equation
INPAINT_SIDE = 160  # long side of the inpainting canvas: the fill is smooth, so low res is enough


def background_plate(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """image: (H, W, 3) uint8 RGB; mask: (H, W) float32 person mask in [0, 1]
    -> (H, W, 3) uint8 RGB plate with the person replaced by inpainted background.

    Why low resolution: cv2.inpaint costs grow with the hole's area; the filled region is
    blurry by nature, so it is computed on a small canvas, upsampled, then blurred to hide
    the fast-marching streaks, and only used where the person was.
    """
    import cv2

    height, width = image.shape[:2]
    factor = min(1.0, INPAINT_SIDE / max(height, width))
    small_size = (max(8, round(width * factor)), max(8, round(height * factor)))
    small = cv2.resize(image, small_size, interpolation=cv2.INTER_AREA)
    small_mask = cv2.resize(mask, small_size, interpolation=cv2.INTER_AREA)
    # Grow the hole a little: the soft edge still carries the person's colours.
    hole = cv2.dilate((small_mask > 0.05).astype(np.uint8), np.ones((5, 5), np.uint8))
    filled = cv2.inpaint(small, hole, 5, cv2.INPAINT_TELEA)
    blur = max(1.0, 0.03 * max(small_size))
    smooth = cv2.GaussianBlur(filled, (0, 0), blur)
    hole_soft = cv2.GaussianBlur(hole.astype(np.float32), (0, 0), 1.5)[..., None]
    filled = (filled * (1 - hole_soft) + smooth * hole_soft).astype(np.float32)
    filled = cv2.resize(filled, (width, height), interpolation=cv2.INTER_LINEAR)
    # Keep the photo wherever there is no person; on the person's soft edge use the nearest
    # sure background pushed inwards (sharp, local), deeper inside the smooth fill.
    background = mask < 0.02
    size = max(2.0, 0.006 * float(np.hypot(height, width)))
    near = push_colours(image.astype(np.float32), background, size)
    depth = cv2.distanceTransform((~background).astype(np.uint8), cv2.DIST_L2, 3)
    inner = np.clip(depth / (4.0 * size), 0.0, 1.0)[..., None]
    fill = near * (1 - inner) + filled * inner
    plate = np.where(background[..., None], image.astype(np.float32), fill)
    return np.clip(plate + 0.5, 0, 255).astype(np.uint8)


def push_colours(colours: np.ndarray, sure: np.ndarray, size: float) -> np.ndarray:
    """colours: (H, W, 3) float32; sure: (H, W) bool -> (H, W, 3) float32 where pixels off
    `sure` take the colour of the nearest sure pixels (normalised Gaussian convolution, fine
    scale first, wider passes for what the finer ones miss). Sure pixels keep theirs."""
    import cv2

    height, width = sure.shape
    weight = sure.astype(np.float32)
    weighted = colours * weight[..., None]
    out = colours.copy()
    filled = sure.copy()
    for sigma in (size, 2 * size, 4 * size, 8 * size, 16 * size):
        # Why downsample: a wide blur on a small copy is as smooth and far cheaper.
        shrink = max(1.0, sigma / 3.0)
        small = (max(1, round(width / shrink)), max(1, round(height / shrink)))
        num = cv2.GaussianBlur(cv2.resize(weighted, small, interpolation=cv2.INTER_AREA), (0, 0), sigma / shrink)
        den = cv2.GaussianBlur(cv2.resize(weight, small, interpolation=cv2.INTER_AREA), (0, 0), sigma / shrink)
        num = cv2.resize(num, (width, height), interpolation=cv2.INTER_LINEAR)
        den = cv2.resize(den, (width, height), interpolation=cv2.INTER_LINEAR)
        take = ~filled & (den > 0.02)
        out[take] = num[take] / den[take, None]
        filled |= take
        if filled.all():
            break
    return out


def foreground_layer(
    image: np.ndarray,
    mask: np.ndarray,
    plate: np.ndarray,
    keep: np.ndarray | None = None,
    unsure: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """image, plate: (H, W, 3) uint8 RGB; mask: (H, W) float32 person mask in [0, 1];
    keep: optional (H, W) float32 alpha the result must not go below (the face hull);
    unsure: optional (H, W) bool where even a solid mask may be refined (inferred person)
    -> (alpha (H, W) float32, colours (H, W, 3) uint8, plate (H, W, 3) uint8): the person layer
    and its background, with image ~= alpha * colours + (1 - alpha) * plate.

    1. The person's own colour is pushed outwards from the confident interior.
    2. On the soft edge, alpha follows the pixel's colour: its projection onto the line from
       the plate colour to the person colour. Why: the segmenter's edge lies a little outside
       the hair (left alone, that band carries the old backdrop: a pale halo on a new scene)
       or a little inside a jacket (which would fade out).
    3. Colours on the edge solve the matting equation with that alpha and the plate.
    4. Where alpha fell so low that the colours are the pushed ones, the plate takes the
       rest of the photo's pixel, so the layers still recompose the photo.
    """
    photo = image.astype(np.float32)
    background = plate.astype(np.float32)
    size = max(3.0, 0.01 * float(np.hypot(*mask.shape)))
    # The person's colour comes only from pixels that are surely person: a solid mask that
    # the segmenter itself (not a hull we added) vouches for.
    sure = mask > 0.8 if unsure is None else (mask > 0.8) & ~unsure
    pushed = push_colours(photo, sure, size)
    alpha = refine_alpha(photo, mask, pushed, background, unsure)
    if keep is not None:
        alpha = np.maximum(alpha, keep).astype(np.float32)
    colours = foreground_colours(photo, alpha, background, pushed)
    # Where the colours are the pushed ones (alpha below the matting range) the plate takes
    # the rest of the photo's pixel; elsewhere matting already made the layers add up.
    a = alpha[..., None]
    solved = (photo - a * colours) / np.maximum(1.0 - a, 1e-3)
    background = np.where(a < MATTING_FROM, solved, background)
    return alpha, colours, np.clip(background + 0.5, 0, 255).astype(np.uint8)


def refine_alpha(
    photo: np.ndarray, mask: np.ndarray, person: np.ndarray, background: np.ndarray, unsure: np.ndarray | None = None
) -> np.ndarray:
    """photo, person, background: (H, W, 3) float32; mask: (H, W); unsure: optional (H, W)
    bool -> (H, W) float32 alpha, refined on the soft edge (and wherever `unsure`) where the
    colours tell person from background: the pixel's projection on the line from the
    background colour to the person's."""
    import cv2

    line = person - background
    length2 = np.einsum("ijk,ijk->ij", line, line)
    along = np.einsum("ijk,ijk->ij", photo - background, line) / np.maximum(length2, 1.0)
    colour_alpha = np.clip(along, 0.0, 1.0)
    # Trust the colour estimate only where person and background colours differ clearly and
    # the pixel lies near the line between them (a third colour, like a white hat band on a
    # navy hat before a blue sky, is something the background does not have: the person's).
    off_line = photo - background - along[..., None] * line
    residual = np.sqrt(np.einsum("ijk,ijk->ij", off_line, off_line))
    trust = np.clip((np.sqrt(length2) - 25.0) / 50.0, 0.0, 1.0) * np.clip(1.0 - (residual - 20.0) / 30.0, 0.0, 1.0)
    band = (mask > 0.01) & (mask < 0.99)
    if unsure is not None:
        band |= unsure & (mask > 0.01)
    # Lower where the colour says background; raise where it says person, but only where
    # the segmenter already leaned that way (mask > 0.3): a busy backdrop can share the
    # person's colour (a navy flag beside a navy jacket).
    colour_alpha = np.where(mask > 0.3, colour_alpha, np.minimum(mask, colour_alpha))
    refined = mask * (1.0 - trust) + colour_alpha * trust
    alpha = np.where(band, refined, mask).astype(np.float32)
    # A touch of smoothing: the estimate is per pixel, the matte should not be noisy.
    alpha = np.where(band, cv2.GaussianBlur(alpha, (0, 0), 0.7), alpha)
    return np.clip(alpha, 0.0, 1.0).astype(np.float32)


def foreground_colours(photo: np.ndarray, alpha: np.ndarray, background: np.ndarray, pushed: np.ndarray) -> np.ndarray:
    """photo, background, pushed: (H, W, 3) float32; alpha: (H, W)
    -> (H, W, 3) uint8 colours F with photo ~= alpha * F + (1 - alpha) * background.

    Inside the person F is the photo; on the soft edge F solves the matting equation; where
    alpha is too small for that division to be trusted, F is the pushed person colour.
    """
    a = alpha.astype(np.float32)[..., None]
    matted = (photo - (1.0 - a) * background) / np.maximum(a, 0.05)
    edge_trust = np.clip((a - 0.04) / (MATTING_FROM - 0.04), 0.0, 1.0)
    colours = np.where(a > 0.97, photo, edge_trust * matted + (1 - edge_trust) * pushed)
    return np.clip(colours + 0.5, 0, 255).astype(np.uint8)
