"""``idvid cache-latents DATA --model M --frames N``: encode every clip's fixed window once.

Flow: check the store and the window (before any model loads) -> load the pipeline -> check
frames and sizes against its VAE -> open or create ``DATA/latents/<key>`` -> the empty caption's
embedding (once) -> clips without a current entry, in batches of one size bucket -> VAE latent
distribution (through the family's own ``encode``), caption embedding (``pipe.encode_prompt``),
first-frame condition for image-to-video backbones -> one safetensors file per clip (atomic).
The format and what a cache is made for are described in :mod:`idvid.data.latent_cache`.

Resumable: a clip whose entry exists, reads and matches the clip (caption, video size, window)
is skipped; missing, partial, corrupt or stale entries are (re)written.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import torch

from idvid.data.dataset import frames_to_video
from idvid.data.latent_cache import LatentCache, LatentCacheError, cache_identity
from idvid.data.store import SHARDS, ClipStore, StoreError
from idvid.errors import DataError, GenerationError


@dataclass
class CacheReport:
    path: Path  # the cache folder
    cached: int  # clips encoded this run
    skipped: int  # clips whose entry was already current
    seconds: float  # encoding time (model loading excluded)


def format_cache_report(report: CacheReport) -> str:
    rate = f" ({report.cached / report.seconds:.2f} clips/s)" if report.cached and report.seconds > 0 else ""
    return (f"cached {report.cached} clip(s), {report.skipped} already cached, in {report.seconds:.1f} s{rate}: "
            f"{report.path}")


# ---- encoding -----------------------------------------------------------------------------------

class _GivenLatents:
    """A stand-in VAE whose encoding of anything is ``raw``: passed to ``family.encode``, it leaves
    only the family's own normalisation (scale, shift) of raw VAE latents."""

    def __init__(self, vae, raw: torch.Tensor):
        self.config, self.dtype = vae.config, raw.dtype
        self.latent_dist = SimpleNamespace(sample=lambda generator=None: raw)

    def encode(self, _video):
        return self


def _normalise(family, vae, raw: torch.Tensor) -> torch.Tensor:
    return family.encode(_GivenLatents(vae, raw), raw)


@torch.no_grad()
def latent_distribution(family, vae, video: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """video (B, 3, F, H, W) in [-1, 1] -> (mean, std), each (B, C, f, h, w): the normalised
    distribution ``family.encode(vae, video)`` samples from (``mean + std * N(0, 1)``)."""
    dist = vae.encode(video.to(vae.dtype)).latent_dist
    unit = dist.mean.new_ones(1, dist.mean.shape[1], 1, 1, 1)
    scale = _normalise(family, vae, unit) - _normalise(family, vae, torch.zeros_like(unit))  # per channel
    return _normalise(family, vae, dist.mean), dist.std * scale.abs()


@torch.no_grad()
def encode_clips(pipe, store: ClipStore, metas: list[dict], cache: LatentCache) -> list[dict[str, torch.Tensor]]:
    """Clips of one size bucket -> one cache entry each (see :mod:`idvid.data.latent_cache`)."""
    family, vae = pipe.family, pipe.vae
    windows = [cache.window(int(m["num_frames"])) for m in metas]
    video = torch.stack([frames_to_video(store.read_frames(m["clip_id"], w)) for m, w in zip(metas, windows)])
    video = video.permute(0, 2, 1, 3, 4).to(vae.device)  # (B, T, 3, H, W) -> (B, 3, T, H, W), as the trainer
    mean, std = latent_distribution(family, vae, video)
    batch = {"latent_mean": mean, "latent_std": std, "text_embeds": pipe.encode_prompt([m["caption"] for m in metas])}
    if family.condition_channels(vae, pipe.transformer) > 0:
        batch["condition_mean"], batch["condition_std"] = latent_distribution(family, vae, video[:, :, :1])
    return [{**{k: v[i] for k, v in batch.items()}, "frame_indices": torch.from_numpy(w)} for i, w in enumerate(windows)]


# ---- checks -------------------------------------------------------------------------------------

def _clips_to_cache(root: Path, split: str | None, num_frames: int, frame_stride: int) -> tuple[ClipStore, list[dict]]:
    """The store's clips (of ``split``), checked to be long enough for the window."""
    if num_frames < 1 or frame_stride < 1:
        raise DataError(f"--frames and --stride must be >= 1, got {num_frames} and {frame_stride}")
    if not root.is_dir():
        raise StoreError(f"{root} does not exist; make a clip store with idvid synth or idvid prepare")
    if not (root / SHARDS).is_dir():
        raise StoreError(f"{root} is not a clip store (no {SHARDS}/ folder); make one with idvid synth or idvid prepare")
    store = ClipStore(root)
    metas = store.clips(split=split, use_index=False)  # the sidecars: every clip, even if the index is old
    if not metas:
        raise StoreError(f"no clips{'' if split is None else f' of split {split!r}'} in {root}")
    span = (num_frames - 1) * frame_stride + 1
    short = [m for m in metas if int(m["num_frames"]) < span]
    if short:
        raise LatentCacheError(f"{len(short)} clip(s) have fewer than the {span} frames the window needs "
                               f"(e.g. {short[0]['clip_id']}: {short[0]['num_frames']}); choose a smaller --frames")
    return store, metas


def _load_pipeline(model: str, device: str | None):
    from idvid.engines import check_device, engine_kind
    from idvid.engines.dit.pipeline import IDVideoPipeline

    if device:
        check_device(device)
    if engine_kind(model) != "dit":  # also the "unknown model" error
        raise DataError(f"{model} is not a diffusion-transformer model; latents are cached for DiT "
                              "backbones such as tiny, cogvideox-5b-i2v or wan2.1-1.3b")
    pipe = IDVideoPipeline.from_pretrained(model)
    if device:  # only the encoders run: the transformer stays where it loaded
        pipe.vae.to(device)
        pipe.text_encoder.to(device)
    return pipe


def _check_sizes(pipe, num_frames: int, buckets: list[str]) -> None:
    """Frames and every bucket's size must fit the VAE and patch grid (as training needs)."""
    geometry = pipe.family.geometry(pipe.vae, pipe.transformer)
    for bucket in buckets:
        height, width = (int(v) for v in bucket.split("x"))
        try:
            geometry.check(num_frames, height, width)
        except GenerationError as e:
            raise DataError(f"clips of {bucket}: {e}") from None


def _bucket_batches(metas: list[dict], batch_size: int) -> Iterator[list[dict]]:
    by_bucket: dict[str, list[dict]] = {}
    for meta in metas:
        by_bucket.setdefault(meta["bucket"], []).append(meta)
    for bucket in sorted(by_bucket):
        group = by_bucket[bucket]
        for start in range(0, len(group), batch_size):
            yield group[start:start + batch_size]


# ---- the command --------------------------------------------------------------------------------

def cache_latents(root: str | os.PathLike, model: str, num_frames: int, frame_stride: int = 1, batch_size: int = 4,
                  split: str | None = None, device: str | None = None, progress: bool = True) -> CacheReport:
    """Cache every clip of ``root`` (of ``split``; None = all) for ``model``: ``num_frames``
    frames with ``frame_stride`` from the middle of each clip, ``batch_size`` clips per VAE call
    (lower it if the VAE runs out of memory)."""
    from tqdm import tqdm

    if batch_size < 1:
        raise DataError(f"--batch-size must be >= 1, got {batch_size}")
    # 1. The store and the window, before any model loads.
    root = Path(root)
    store, metas = _clips_to_cache(root, split, num_frames, frame_stride)
    buckets = sorted({m["bucket"] for m in metas})
    # 2. The model, and what the cache is made for.
    pipe = _load_pipeline(str(model), device)
    _check_sizes(pipe, num_frames, buckets)
    cache = LatentCache.create(root, cache_identity(pipe, model, num_frames, frame_stride), buckets)
    if not cache.has_null_text():
        cache.write_null_text(pipe.encode_prompt([""])[0])
    # 3. The clips without a current entry, a bucket's batch at a time.
    todo = [m for m in metas if not cache.is_current(store, m)]
    started = time.perf_counter()
    with tqdm(total=len(todo), unit="clip", desc="cache-latents", dynamic_ncols=True, disable=not progress) as bar:
        for batch in _bucket_batches(todo, batch_size):
            for meta, entry in zip(batch, encode_clips(pipe, store, batch, cache)):
                cache.write(store, meta, entry)
            bar.update(len(batch))
    return CacheReport(path=cache.path, cached=len(todo), skipped=len(metas) - len(todo),
                       seconds=time.perf_counter() - started)
