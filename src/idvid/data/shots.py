"""Shot cuts and face tracks in a decoded video (for ``idvid prepare``).

- :func:`shot_boundaries`: a cut where the hue/saturation histograms of consecutive frames stop
  correlating (or the mean pixel change jumps): robust to motion inside a shot, cheap (64x64).
- :func:`track_faces`: faces detected every ``every`` frames (YuNet), linked into tracks by box
  IoU, and by SFace embedding when IoU fails (a fast move or a missed detection);
  :func:`dominant_track` says whether one person dominates a shot.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

CUT_CORRELATION = 0.6  # histogram correlation below this between consecutive frames = a cut
CUT_PIXEL_CHANGE = 60.0  # or a mean absolute change (0..255) above this
LINK_IOU = 0.3
LINK_SIMILARITY = 0.5


def _signature(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import cv2

    small = cv2.resize(frame, (64, 64), interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV)
    hist = cv2.calcHist([hsv], [0, 1], None, [16, 8], [0, 180, 0, 256])
    cv2.normalize(hist, hist)
    return hist, small.astype(np.float32)


def shot_boundaries(frames: np.ndarray) -> list[tuple[int, int]]:
    """(T, H, W, 3) uint8 -> [(start, end)) frame ranges of the shots, in order, covering 0..T."""
    import cv2

    cuts = [0]
    previous = None
    for i, frame in enumerate(frames):
        hist, small = _signature(frame)
        if previous is not None:
            correlation = cv2.compareHist(previous[0], hist, cv2.HISTCMP_CORREL)
            change = float(np.abs(small - previous[1]).mean())
            if correlation < CUT_CORRELATION or change > CUT_PIXEL_CHANGE:
                cuts.append(i)
        previous = (hist, small)
    cuts.append(len(frames))
    return [(a, b) for a, b in itertools.pairwise(cuts) if b > a]


@dataclass
class Track:
    """One face over time: frame index -> box (x, y, w, h) and, where computed, its embedding."""

    boxes: dict[int, np.ndarray] = field(default_factory=dict)
    embeddings: dict[int, np.ndarray] = field(default_factory=dict)

    @property
    def last(self) -> int:
        return max(self.boxes)

    def mean_embedding(self) -> np.ndarray | None:
        if not self.embeddings:
            return None
        mean = np.mean(list(self.embeddings.values()), axis=0)
        return mean / (np.linalg.norm(mean) + 1e-8)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    ax1, ay1, ax2, ay2 = a[0], a[1], a[0] + a[2], a[1] + a[3]
    bx1, by1, bx2, by2 = b[0], b[1], b[0] + b[2], b[1] + b[3]
    w = max(0.0, min(ax2, bx2) - max(ax1, bx1))
    h = max(0.0, min(ay2, by2) - max(ay1, by1))
    inter = w * h
    union = a[2] * a[3] + b[2] * b[3] - inter
    return float(inter / union) if union > 0 else 0.0


def track_faces(frames: np.ndarray, analyzer, every: int = 2, min_size: float = 24.0) -> tuple[list[Track], list[int]]:
    """Detect every ``every`` frames and link -> (tracks, the frame indices that were checked)."""
    tracks: list[Track] = []
    checked = list(range(0, len(frames), max(1, every)))
    for i in checked:
        detections = [d for d in analyzer.detector(frames[i]) if d.size >= min_size]
        used: set[int] = set()
        for d in sorted(detections, key=lambda d: -d.size):
            best, best_iou = None, LINK_IOU
            for k, t in enumerate(tracks):
                if k in used or i - t.last > 3 * every:
                    continue
                overlap = iou(t.boxes[t.last], d.box)
                if overlap > best_iou:
                    best, best_iou = k, overlap
            embedding = None
            if best is None and tracks:
                embedding = analyzer.embedder(frames[i], d)
                for k, t in enumerate(tracks):
                    mean = t.mean_embedding()
                    if k not in used and mean is not None and float(mean @ embedding) > LINK_SIMILARITY:
                        best = k
                        break
            if best is None:
                tracks.append(Track())
                best = len(tracks) - 1
            track = tracks[best]
            track.boxes[i] = np.asarray(d.box, np.float32)
            if embedding is None and (not track.embeddings or i - max(track.embeddings) >= 4 * every):
                embedding = analyzer.embedder(frames[i], d)
            if embedding is not None:
                track.embeddings[i] = embedding
            used.add(best)
    return tracks, checked


def dominant_track(tracks: list[Track], checked: list[int], min_coverage: float = 0.8,
                   max_other: float = 0.2) -> tuple[Track | None, str]:
    """-> (the one dominant track, "") or (None, why not): it must be in ``min_coverage`` of the
    checked frames, and no other track in more than ``max_other`` of them."""
    if not tracks:
        return None, "no face"
    coverage = sorted(((len(t.boxes) / max(1, len(checked)), t) for t in tracks), key=lambda c: -c[0])
    best_cover, best = coverage[0]
    if best_cover < min_coverage:
        return None, f"face visible in only {best_cover:.0%} of the shot"
    if len(coverage) > 1 and coverage[1][0] > max_other:
        return None, "several people"
    return best, ""
