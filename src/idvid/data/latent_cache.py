"""The latent cache: VAE latents and text embeddings of a clip store, made once by
``idvid cache-latents DATA --model M --frames N`` so training skips video decoding and encoding.

Layout, beside the clip store's own folders::

    DATA/latents/<key>/               one cache per (model, frames, stride); key = "<model>-<N>f-<hash>"
      manifest.json                   what the cache was made for (below); written first
      null.safetensors                text_embeds (L, D): the empty caption, for caption dropout
      shards/shard-00000/             mirrors DATA/shards/
        <clip_id>.safetensors         one clip (a clip is cached once this file exists):
            latent_mean, latent_std   (C, f, h, w)  normalised latent distribution of the window
            text_embeds               (L, D)        the clip's caption
            frame_indices             (N,) int64    the window's clip frames
            condition_mean/_std       (C, 1, h, w)  image-to-video backbones only: the first
                                                    window frame, encoded alone
          metadata: caption, video_bytes (what the entry was made from; a change makes it stale)

The window is fixed at cache time (a causal video VAE's latents of a window are not a slice of
the whole clip's latents): the middle ``N`` frames with stride ``S``, starting at frame
``(T - span) // 2`` where ``span = (N - 1) * S + 1``. Latents are stored in the backbone
family's normalised space, as ``family.encode`` returns them: ``mean + std * N(0, 1)`` is
distributed exactly like ``family.encode(vae, window)``. Tensors keep the dtype the VAE and
text encoder computed them in.

The manifest's ``identity`` (model name or absolute directory, family, SHA-256 of the VAE and
text encoder configs, tokenizer class, text length, image-to-video, frames, stride, window)
decides whether a cache fits a training run; ``buckets`` lists the clip sizes it holds.
A cache made for another model, frame count or stride is never used silently:

- :func:`find_latent_cache` (training's "use the cache when present") looks only in the folder
  of the run's own key; caches for anything else are **ignored with a warning** naming them;
- :meth:`LatentCache.open` with an ``identity``, and :class:`~idvid.data.dataset.ClipDataset`
  given a cache of another frame count, **refuse** with a one-line :class:`LatentCacheError`.

A corrupt or stale entry (caption or video changed since caching) is a one-line error when read;
``idvid cache-latents`` rewrites such entries on its next run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from pathlib import Path

import numpy as np
import torch

from idvid.atomic import atomic_output
from idvid.data.store import ClipStore, dumps_meta
from idvid.errors import DataError

logger = logging.getLogger("idvid")

LATENTS = "latents"
MANIFEST = "manifest.json"
NULL_TEXT = "null.safetensors"
FORMAT = 1


class LatentCacheError(DataError):
    """A latent cache is missing, corrupt, stale, or made for another model or frame count."""


def cached_window(total: int, num_frames: int, frame_stride: int = 1) -> np.ndarray:
    """(num_frames,) int64: the middle window of a clip of ``total`` frames (see the module docstring)."""
    span = (num_frames - 1) * frame_stride + 1
    if span > total:
        raise LatentCacheError(f"a clip of {total} frames is shorter than {num_frames} frames x stride {frame_stride}")
    start = (total - span) // 2
    return np.arange(start, start + span, frame_stride, dtype=np.int64)


# ---- identity: what a cache is made for ---------------------------------------------------------

def _config_sha256(config) -> str:
    """Hash of a diffusers or transformers config, without paths and library versions."""
    values = config.to_dict() if hasattr(config, "to_dict") else dict(config)
    kept = {k: v for k, v in values.items() if not k.startswith("_") and k != "transformers_version"}
    return hashlib.sha256(json.dumps(kept, sort_keys=True, default=str).encode()).hexdigest()


def model_name(model: str | os.PathLike) -> str:
    """A preset name as given; a model directory as its absolute path (the pipeline's own rule)."""
    path = Path(model).expanduser()
    return str(path.resolve()) if path.is_dir() else str(model)


def cache_identity(pipe, model: str | os.PathLike, num_frames: int, frame_stride: int = 1) -> dict:
    """What decides a cache's contents, for ``pipe`` loaded from ``model`` (see the module docstring)."""
    return {
        "format": FORMAT,
        "model": model_name(model),
        "family": pipe.family.name,
        "vae_config_sha256": _config_sha256(pipe.vae.config),
        "text_encoder_config_sha256": _config_sha256(pipe.text_encoder.config),
        "tokenizer": type(pipe.tokenizer).__name__,
        "max_text_length": int(pipe.config.max_text_length),
        "image_to_video": pipe.family.condition_channels(pipe.vae, pipe.transformer) > 0,
        "num_frames": int(num_frames),
        "frame_stride": int(frame_stride),
        "window": "middle",
    }


def cache_key(identity: dict) -> str:
    """Folder name of a cache: readable model and frames, plus a hash of the whole identity."""
    slug = re.sub(r"[^A-Za-z0-9.]+", "-", Path(identity["model"]).name).strip("-") or "model"
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:10]
    return f"{slug}-{identity['num_frames']}f-{digest}"


def _differences(found: dict, wanted: dict) -> str:
    keys = sorted(set(found) | set(wanted))
    return ", ".join(f"{k} {found.get(k)!r} (wanted {wanted.get(k)!r})" for k in keys if found.get(k) != wanted.get(k))


def find_latent_cache(root: str | os.PathLike, identity: dict) -> LatentCache | None:
    """The cache of ``root`` made for ``identity``, or None (with a warning naming any caches
    made for other models or frame counts, which are ignored)."""
    path = Path(root) / LATENTS / cache_key(identity)
    if (path / MANIFEST).is_file():
        return LatentCache.open(path, identity)
    others = sorted(p.parent.name for p in (Path(root) / LATENTS).glob(f"*/{MANIFEST}"))
    if others:
        logger.warning("ignoring latent cache(s) %s in %s: made for another model, frame count or stride "
                       "(this run needs %s)", ", ".join(others), Path(root) / LATENTS, path.name)
    return None


# ---- entries ------------------------------------------------------------------------------------

def _read_safetensors(path: Path, keys: tuple[str, ...] | None = None) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """-> (the tensors named in ``keys``, default all; the metadata), or one LatentCacheError line."""
    from safetensors import safe_open

    if not path.is_file():
        raise LatentCacheError(f"{path} is missing; run idvid cache-latents again")
    try:
        with safe_open(str(path), framework="pt") as f:
            wanted = f.keys() if keys is None else [k for k in keys if k in f.keys()]
            return {k: f.get_tensor(k) for k in wanted}, dict(f.metadata() or {})
    except Exception as e:  # noqa: BLE001 - safetensors raises its own, OSError and others for bad files
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise LatentCacheError(f"{path} is corrupt ({first}); run idvid cache-latents again to rewrite it") from None


def _write_safetensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> None:
    from safetensors.torch import save_file

    with atomic_output(path, overwrite=True) as tmp:
        save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(tmp), metadata=metadata)


def clip_stamp(store: ClipStore, meta: dict) -> dict[str, str]:
    """What a clip's entry is made from; a different stamp makes the entry stale."""
    return {"caption": meta.get("caption", ""), "video_bytes": str(store.video_path(meta["clip_id"]).stat().st_size)}


def _draw(mean: torch.Tensor, std: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """mean + std * N(0, 1) in float32, the noise from ``rng``."""
    noise = torch.from_numpy(rng.standard_normal(tuple(mean.shape), dtype=np.float32))
    return mean.float() + std.float() * noise


class LatentCache:
    """One cache folder (see the module docstring). Open with :meth:`open`, :meth:`create` or
    :func:`find_latent_cache`."""

    def __init__(self, path: Path, manifest: dict):
        self.path, self.manifest = Path(path), manifest
        self.identity = manifest["identity"]
        self._null_text: torch.Tensor | None = None

    @property
    def num_frames(self) -> int:
        return int(self.identity["num_frames"])

    @property
    def frame_stride(self) -> int:
        return int(self.identity["frame_stride"])

    @classmethod
    def open(cls, path: str | os.PathLike, identity: dict | None = None) -> LatentCache:
        """An existing cache; LatentCacheError if it is not one, or was made for another ``identity``."""
        path = Path(path)
        try:
            manifest = json.loads((path / MANIFEST).read_text())
            found = manifest["identity"]
        except FileNotFoundError:
            raise LatentCacheError(f"{path} is not a latent cache ({MANIFEST} is missing)") from None
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise LatentCacheError(f"{path / MANIFEST} is corrupt ({e})") from None
        if identity is not None and found != identity:
            raise LatentCacheError(f"latent cache {path} was made for something else: {_differences(found, identity)}")
        return cls(path, manifest)

    @classmethod
    def create(cls, root: str | os.PathLike, identity: dict, buckets: list[str]) -> LatentCache:
        """The cache of ``root`` for ``identity`` (made if new), its manifest listing ``buckets`` too."""
        path = Path(root) / LATENTS / cache_key(identity)
        known = cls.open(path, identity).manifest["buckets"] if (path / MANIFEST).exists() else []
        manifest = {"format": FORMAT, "identity": identity, "buckets": sorted(set(known) | set(buckets))}
        with atomic_output(path / MANIFEST, overwrite=True) as tmp:
            tmp.write_text(dumps_meta(manifest))
        return cls(path, manifest)

    # ---- entries ---------------------------------------------------------------------------------

    def entry_path(self, meta: dict) -> Path:
        return self.path / "shards" / meta["shard"] / f"{meta['clip_id']}.safetensors"

    def missing(self, metas: list[dict]) -> list[str]:
        """Clip ids of ``metas`` without an entry."""
        return [m["clip_id"] for m in metas if not self.entry_path(m).is_file()]

    def is_current(self, store: ClipStore, meta: dict) -> bool:
        """Whether the clip's entry exists, reads, and was made from the clip as it is now."""
        try:
            self.load(store, meta, keys=())  # the header, stamp and window: no latents read
            return True
        except LatentCacheError:
            return False

    def write(self, store: ClipStore, meta: dict, tensors: dict[str, torch.Tensor]) -> Path:
        path = self.entry_path(meta)
        _write_safetensors(path, tensors, metadata=clip_stamp(store, meta))
        return path

    def window(self, total: int) -> np.ndarray:
        """(num_frames,) int64: the clip frames cached for a clip of ``total`` frames."""
        return cached_window(total, self.num_frames, self.frame_stride)

    def load(self, store: ClipStore, meta: dict, keys: tuple[str, ...] | None = None) -> dict[str, torch.Tensor]:
        """The clip's stored tensors (only ``keys`` if given); LatentCacheError when missing,
        corrupt or stale."""
        path = self.entry_path(meta)
        tensors, stamp = _read_safetensors(path, None if keys is None else ("frame_indices", *keys))
        window = self.window(int(meta["num_frames"]))
        frames = tensors.get("frame_indices")
        if stamp != clip_stamp(store, meta) or frames is None or not np.array_equal(frames.numpy(), window):
            raise LatentCacheError(f"{path} is stale (the clip changed after caching); run idvid cache-latents again")
        return tensors

    @property
    def null_text(self) -> torch.Tensor:
        """(L, D) embedding of the empty caption."""
        if self._null_text is None:
            self._null_text = _read_safetensors(self.path / NULL_TEXT)[0]["text_embeds"]
        return self._null_text

    def has_null_text(self) -> bool:
        try:
            return self.null_text is not None
        except LatentCacheError:
            return False

    def write_null_text(self, text_embeds: torch.Tensor) -> None:
        _write_safetensors(self.path / NULL_TEXT, {"text_embeds": text_embeds})
        self._null_text = None

    # ---- samples ---------------------------------------------------------------------------------

    def sample(self, entry: dict[str, torch.Tensor], caption_dropped: bool, rng: np.random.Generator) -> dict:
        """A training draw from an entry -> ``latents`` (C, f, h, w) float32, ``text_embeds`` (L, D)
        (the empty caption's when dropped) and, for image-to-video caches, ``condition``
        (C, f, h, w) float32: the first frame's latents, zeros after it (``family.image_condition``)."""
        latents = _draw(entry["latent_mean"], entry["latent_std"], rng)
        out = {"latents": latents, "text_embeds": self.null_text if caption_dropped else entry["text_embeds"]}
        if "condition_mean" in entry:
            first = _draw(entry["condition_mean"], entry["condition_std"], rng)
            padding = first.new_zeros(first.shape[0], latents.shape[1] - 1, *first.shape[2:])
            out["condition"] = torch.cat([first, padding], dim=1)
        return out
