"""EvalContext: one video with its references and prompt, plus the per-frame analyses that
several metrics share, each computed once on first use."""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from idvid.eval.models import EvalModels

NUM_SAMPLED_FRAMES = 16  # ConsisID: FaceSim, CLIPScore and FID read 16 uniformly spaced frames


def sample_indices(num_frames: int, num_samples: int = NUM_SAMPLED_FRAMES) -> np.ndarray:
    """ConsisID's uniform sampling: ``linspace(0, T - 1, n)`` truncated to integers
    (all frames when T <= n). Always includes the first and last frame."""
    if num_frames < 1:
        raise ValueError("a video needs at least one frame")
    if num_samples < 1:
        raise ValueError(f"num_samples must be >= 1, got {num_samples}")
    if num_frames <= num_samples:
        return np.arange(num_frames)
    return np.linspace(0, num_frames - 1, num_samples).astype(int)


@dataclass(frozen=True)
class Series:
    """A per-frame curve for plots: values[i] belongs to video frame frames[i] (NaN: no value).
    For per-pair curves (flow), frames[i] is the first frame of the pair."""

    frames: list[int]
    values: list[float]

    def to_dict(self) -> dict:
        return {"frames": list(self.frames), "values": [None if not np.isfinite(v) else float(v) for v in self.values]}


@dataclass
class EvalContext:
    """Everything metrics read about one video. Built once per video by ``evaluate_video``.

    frames: (T, H, W, 3) uint8 RGB, all frames of the video.
    fps: frames per second.
    references: the reference face observation(s) (at least one); the first is the primary
        one for geometry (mesh, crop).
    prompt: the text the video was generated from ("" when unknown).
    models: the shared model set.
    num_samples: frames sampled uniformly for the face and CLIP metrics.

    Shared analyses (lazy, cached): :meth:`frame_faces`, :meth:`frame_meshes`,
    :meth:`flow`. Metrics may add plot curves to ``series``, facts to ``info`` and, when a
    value is NaN or needs a caveat, a one-line explanation to ``notes`` (by metric name), and
    arrays a benchmark pools over videos (FID features) to ``features``.
    """

    frames: np.ndarray
    fps: float
    references: Sequence
    prompt: str
    models: EvalModels
    num_samples: int = NUM_SAMPLED_FRAMES
    series: dict[str, Series] = field(default_factory=dict)
    info: dict[str, object] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    features: dict[str, np.ndarray] = field(default_factory=dict)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    _cache: dict[str, object] = field(default_factory=dict, repr=False)

    def __post_init__(self):
        frames = np.asarray(self.frames)
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or frames.shape[0] < 1:
            raise ValueError(f"frames must be (T >= 1, H, W, 3) uint8, got {frames.shape} {frames.dtype}")
        if not self.references:
            raise ValueError("at least one reference face is needed")
        self.frames = frames
        self.references = list(self.references)

    # ---- basics ---------------------------------------------------------------------------

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def sample_indices(self) -> np.ndarray:
        """(N,) indices of the uniformly sampled frames."""
        return sample_indices(self.num_frames, self.num_samples)

    @property
    def sampled_frames(self) -> np.ndarray:
        """(N, H, W, 3) uint8, the uniformly sampled frames."""
        return self.frames[self.sample_indices]

    @property
    def reference(self):
        """The primary reference observation (the first)."""
        return self.references[0]

    @property
    def reference_embedding(self) -> np.ndarray:
        """(128,) unit-norm SFace embedding of the reference(s): the normalised mean when
        several photos are given."""
        from idvid.face.embed import l2_normalise

        return l2_normalise(np.mean([r.embedding for r in self.references], axis=0))

    @contextmanager
    def stage(self, name: str):
        """Time a shared analysis stage (reported apart from the metrics that trigger it)."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.stage_seconds[name] = self.stage_seconds.get(name, 0.0) + time.perf_counter() - start

    # ---- shared lazy analyses ----------------------------------------------------------------

    def frame_faces(self) -> list:
        """Per sampled frame: the largest face as :class:`idvid.eval.faces.FrameFace`, or None."""
        if "faces" not in self._cache:
            from idvid.eval.faces import analyze_frame

            with self.stage("face_analysis"):
                analyzer = self.models.analyzer
                self._cache["faces"] = [
                    analyze_frame(analyzer, self.frames[i], int(i)) for i in self.sample_indices
                ]
        return self._cache["faces"]

    def frame_meshes(self) -> list:
        """Per sampled frame: :class:`idvid.eval.faces.FrameMesh` (mesh + pose), or None when
        the frame has no face or the mesh model rejects it (measured with the faces)."""
        return [None if face is None else face.mesh for face in self.frame_faces()]

    def flow(self):
        """:class:`idvid.eval.flow.FlowStats` over all consecutive frame pairs."""
        if "flow" not in self._cache:
            from idvid.eval.flow import flow_stats

            with self.stage("optical_flow"):
                self._cache["flow"] = flow_stats(self.frames)
        return self._cache["flow"]

    def facesim_per_frame(self) -> np.ndarray:
        """(N,) raw cosine of each sampled frame's face to the reference embedding (NaN: no face)."""
        if "facesim" not in self._cache:
            reference = self.reference_embedding
            self._cache["facesim"] = np.array(
                [np.nan if f is None else float(f.embedding @ reference) for f in self.frame_faces()]
            )
        return self._cache["facesim"]

    def cached(self, key: str, compute):
        """``compute()`` once per context under ``key`` (for values several metrics derive)."""
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def note(self, metric: str, text: str) -> None:
        """Attach a one-line explanation to a metric's result (e.g. why a value is NaN)."""
        self.notes[metric] = f"{self.notes[metric]}; {text}" if metric in self.notes else text

    def add_series(self, key: str, frames, values) -> None:
        self.series[key] = Series([int(f) for f in frames], [float(v) for v in values])
