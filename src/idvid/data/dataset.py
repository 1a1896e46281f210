"""Training samples from a clip store (``idvid synth`` and ``idvid prepare`` output alike).

:class:`ClipDataset` returns per clip (shapes without the batch axis; K = ``num_refs``):

- ``video``: (T, 3, H, W) float32 in [-1, 1], T = ``num_frames`` target frames (a window of
  the clip with ``frame_stride``);
- ``frame_indices``: (T,) int64 clip frames used as targets;
- ``face_boxes``: (T, 4) float32 x, y, w, h of each target frame's face as fractions of the
  frame (zeros for clips stored without them; see :func:`face_boxes`);
- ``caption``: str, "" when dropped; ``caption_dropped``: bool;
- ``ref_embeddings`` (K, 128) float32, ``ref_crops`` (K, 3, 224, 224) float32 in [-1, 1],
  ``ref_vertices`` (K, 478, 3) float32 (pixels of the image each view came from),
  ``ref_poses`` (K, 3) float32 degrees, ``ref_mask`` (K,) bool (False = padding or dropped);
  views are drawn from the clip's reference set, never from the target frames (a view whose
  ``frame_indices`` entry is one of the targets is excluded), spread over yaw when possible;
- ``ref_source_frames``: (K,) int64 clip frame each view was taken from (-1: none / not a frame);
- ``identity_dropped``: bool (then every ``ref_mask`` entry is False and the tensors are zero);
- ``clip_id``, ``bucket``: str; ``index``: () int64, the dataset index.

With ``latent_cache`` (a :class:`~idvid.data.latent_cache.LatentCache` made by ``idvid
cache-latents`` for the training model; see :func:`~idvid.data.latent_cache.find_latent_cache`)
the video is neither decoded nor encoded, and ``video`` is replaced by what the trainer's step
would compute from it (the same values, as ``family.encode``, ``pipe.encode_prompt`` and
``family.image_condition`` give them):

- ``latents``: (C, f, h, w) float32, normalised VAE latents drawn from the cached distribution;
- ``text_embeds``: (L, D) in the text encoder's dtype: the caption's, or the empty caption's
  when ``caption_dropped``;
- ``condition``: (C, f, h, w) float32, image-to-video caches only: the first target frame's
  latents, zeros after it;
- ``frame_indices``: the cached window (the middle of the clip; fixed, not random), so
  reference views are never one of these frames either.

Randomness (window, views, dropouts) comes from ``np.random.default_rng([seed, epoch, index])``,
the cached latents' noise from ``np.random.default_rng([seed, epoch, index, 1])``:
deterministic, and independent of the DataLoader worker that loads the sample. The epoch is the
one of :meth:`ClipDataset.set_epoch`, or given with the index as the key ``dataset[epoch, index]``
(what a worker's copy of the dataset needs: ``set_epoch`` in the main process does not reach it).
Use :class:`~idvid.data.buckets.BucketBatchSampler` with :attr:`ClipDataset.buckets` for batches
of one frame size.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np

from idvid.data.store import ClipStore
from idvid.errors import DataError

if TYPE_CHECKING:
    import torch

    from idvid.data.latent_cache import LatentCache

LATENT_NOISE_TAG = 1


def frames_to_video(frames: np.ndarray) -> torch.Tensor:
    """(T, H, W, 3) uint8 frames -> (T, 3, H, W) float32 in [-1, 1] (a sample's ``video``)."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 127.5 - 1.0


def face_boxes(meta: dict, frames: np.ndarray) -> np.ndarray:
    """(T, 4) float32 face boxes of the clip's ``frames`` from its metadata; zeros (no face
    region, so face-weighted losses fall back to the plain loss) when the clip has none."""
    stored = meta.get("face_boxes")
    if stored is None:
        return np.zeros((len(frames), 4), np.float32)
    return np.asarray(stored, np.float32)[frames]


class ClipDataset:
    """A torch map-style dataset over ``ClipStore(root)`` clips of ``split`` (None = all).

    latent_cache: read latents and text embeddings from this cache instead of decoding videos;
    it must hold every clip of the split, for ``num_frames`` (None takes the cache's) and
    ``frame_stride``."""

    def __init__(self, root: str | os.PathLike, split: str | None = "train", num_frames: int | None = None,
                 frame_stride: int = 1, num_refs: int = 3, caption_dropout: float = 0.1,
                 identity_dropout: float = 0.1, seed: int = 0, latent_cache: LatentCache | None = None):
        for name, p in (("caption_dropout", caption_dropout), ("identity_dropout", identity_dropout)):
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {p}")
        self.store = ClipStore(root)
        self.metas = self.store.clips(split=split)
        if not self.metas:
            raise DataError(f"no clips{'' if split is None else f' of split {split!r}'} in {root}")
        self.num_frames, self.frame_stride, self.num_refs = num_frames, int(frame_stride), int(num_refs)
        self.caption_dropout, self.identity_dropout = float(caption_dropout), float(identity_dropout)
        self.seed, self.epoch = int(seed), 0
        self.latent_cache = latent_cache
        if latent_cache is not None:
            self.num_frames = self._check_cache(latent_cache)

    def _check_cache(self, cache: LatentCache) -> int:
        """The cache's frame count, after checking it fits this dataset and holds every clip."""
        from idvid.data.latent_cache import LatentCacheError

        wanted = (cache.num_frames if self.num_frames is None else int(self.num_frames), self.frame_stride)
        if wanted != (cache.num_frames, cache.frame_stride):
            raise LatentCacheError(f"latent cache {cache.path} holds {cache.num_frames} frames with stride "
                                   f"{cache.frame_stride}; this dataset wants {wanted[0]} with stride {wanted[1]}")
        missing = cache.missing(self.metas)
        if missing:
            raise LatentCacheError(f"latent cache {cache.path} lacks {len(missing)} of {len(self.metas)} clips "
                                   f"(e.g. {missing[0]}); run idvid cache-latents again")
        return cache.num_frames

    @property
    def buckets(self) -> list[str]:
        """The "HxW" bucket of every index (for BucketBatchSampler)."""
        return [m["bucket"] for m in self.metas]

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.metas)

    # ---- sample choices (no tensors; tested directly) ---------------------------------------

    def target_indices(self, meta: dict, rng: np.random.Generator) -> np.ndarray:
        """(T,) clip frames to use as targets: a random window of num_frames with frame_stride (the
        cached window with a latent cache)."""
        total = int(meta["num_frames"])
        want = total if self.num_frames is None else int(self.num_frames)
        span = (want - 1) * self.frame_stride + 1
        if span > total:
            raise DataError(f"clip {meta['clip_id']} has {total} frames, fewer than {want} x stride "
                             f"{self.frame_stride} needs")
        if self.latent_cache is not None:
            return self.latent_cache.window(total)
        start = int(rng.integers(0, total - span + 1))
        return np.arange(start, start + span, self.frame_stride, dtype=np.int64)

    def choose_refs(self, refs: dict, targets: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Indices of up to num_refs reference views that are not target frames, spread over yaw:
        the candidates are sorted by yaw, split into num_refs groups, and one is drawn per group."""
        allowed = ~np.isin(refs["frame_indices"], targets)
        candidates = np.flatnonzero(allowed)
        if len(candidates) <= self.num_refs:
            return rng.permutation(candidates)
        by_yaw = candidates[np.argsort(refs["poses"][candidates, 0], kind="stable")]
        groups = np.array_split(by_yaw, self.num_refs)
        return np.array([g[int(rng.integers(len(g)))] for g in groups], dtype=np.int64)

    def plan(self, index: int, epoch: int | None = None) -> tuple[np.ndarray, dict, np.ndarray, bool, bool]:
        """The random choices for sample ``index`` in ``epoch`` (default: this epoch), without
        decoding the video -> (target frame indices, the clip's refs, chosen view indices,
        caption_dropped, identity_dropped)."""
        meta = self.metas[index]
        epoch = self.epoch if epoch is None else int(epoch)
        rng = np.random.default_rng([self.seed, epoch, int(index)])
        targets = self.target_indices(meta, rng)
        refs = self.store.read_refs(meta["clip_id"])
        chosen = self.choose_refs(refs, targets, rng)
        caption_dropped = bool(rng.random() < self.caption_dropout)
        identity_dropped = bool(rng.random() < self.identity_dropout) or len(chosen) == 0
        return targets, refs, chosen, caption_dropped, identity_dropped

    # ---- sample ------------------------------------------------------------------------------

    def __getitem__(self, key: int | tuple[int, int]) -> dict:
        """key: an index (in this epoch), or (epoch, index)."""
        import torch

        epoch, index = key if isinstance(key, tuple) else (self.epoch, key)
        meta = self.metas[index]
        targets, refs, chosen, caption_dropped, identity_dropped = self.plan(index, epoch)
        k = self.num_refs
        out_refs = {
            "ref_embeddings": np.zeros((k, 128), np.float32),
            "ref_crops": np.zeros((k, 224, 224, 3), np.uint8),
            "ref_vertices": np.zeros((k, 478, 3), np.float32),
            "ref_poses": np.zeros((k, 3), np.float32),
            "ref_mask": np.zeros(k, bool),
        }
        source_frames = np.full(k, -1, dtype=np.int64)  # clip frame of each view (-1: not a frame / none)
        if not identity_dropped:
            n = len(chosen)
            out_refs["ref_embeddings"][:n] = refs["embeddings"][chosen]
            out_refs["ref_crops"][:n] = refs["crops"][chosen]
            out_refs["ref_vertices"][:n] = refs["vertices"][chosen]
            out_refs["ref_poses"][:n] = refs["poses"][chosen]
            out_refs["ref_mask"][:n] = True
            source_frames[:n] = refs["frame_indices"][chosen]
        crops = torch.from_numpy(out_refs.pop("ref_crops")).permute(0, 3, 1, 2).float() / 127.5 - 1.0
        if identity_dropped:
            crops.zero_()
        return {
            **self._target(meta, index, epoch, targets, caption_dropped),
            "frame_indices": torch.from_numpy(targets),
            "face_boxes": torch.from_numpy(face_boxes(meta, targets)),
            "caption": "" if caption_dropped else meta["caption"],
            "caption_dropped": caption_dropped,
            "identity_dropped": identity_dropped,
            "ref_crops": crops,
            "ref_source_frames": torch.from_numpy(source_frames),
            **{name: torch.from_numpy(value) for name, value in out_refs.items()},
            "clip_id": meta["clip_id"],
            "bucket": meta["bucket"],
            "index": torch.tensor(int(index)),
        }

    def _target(self, meta: dict, index: int, epoch: int, targets: np.ndarray, caption_dropped: bool) -> dict:
        """``video`` decoded from the clip, or the cached ``latents``, ``text_embeds`` (, ``condition``)."""
        if self.latent_cache is None:
            return {"video": frames_to_video(self.store.read_frames(meta["clip_id"], targets))}
        entry = self.latent_cache.load(self.store, meta)
        rng = np.random.default_rng([self.seed, epoch, int(index), LATENT_NOISE_TAG])
        return self.latent_cache.sample(entry, caption_dropped, rng)
