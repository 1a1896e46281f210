"""Speed of ``idvid cache-latents`` with the ``tiny`` preset on a small ``idvid synth`` store, and
what the cache saves per training sample, in one process:

- caching throughput (clips/s, model loading excluded) with --batch-size clips per VAE call and
  with one clip per call;
- the dataset's per-sample load time without the cache (mp4 decode of the window) and with it
  (safetensors read + a latent draw), and their ratio; both include the reference views (the
  same work in both modes), so the target part alone is timed too;
- the same without the cache plus what the training step then computes itself
  (``family.encode`` of the window and ``pipe.encode_prompt`` of the caption).

    python benchmarks/cache_latents_speed.py [--identities 2] [--clips-per-identity 4] [--size 64]
                                             [--clip-frames 17] [--frames 9] [--batch-size 4] [--out DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time


def caching_rate(root: str, frames: int, batch_size: int) -> float:
    """Clips/s of caching the whole store into an empty cache (removed afterwards)."""
    from idvid.data.cache_latents import cache_latents

    report = cache_latents(root, "tiny", frames, batch_size=batch_size, progress=False)
    shutil.rmtree(report.path)
    return report.cached / report.seconds


def seconds_each(items, load, rounds: int) -> float:
    """Mean seconds per ``load(item)`` over ``rounds`` passes."""
    started = time.perf_counter()
    for _ in range(rounds):
        for item in items:
            load(item)
    return (time.perf_counter() - started) / (rounds * len(items))


def per_sample_seconds(dataset, rounds: int, after=None) -> float:
    """Mean seconds per ``dataset[i]`` (plus ``after(sample)``) over ``rounds`` epochs."""
    started = time.perf_counter()
    for epoch in range(rounds):
        dataset.set_epoch(epoch)
        for i in range(len(dataset)):
            sample = dataset[i]
            if after is not None:
                after(sample)
    return (time.perf_counter() - started) / (rounds * len(dataset))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--identities", type=int, default=2)
    parser.add_argument("--clips-per-identity", type=int, default=4)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--clip-frames", type=int, default=17)
    parser.add_argument("--frames", type=int, default=9, help="cached window (4k+1 for the tiny Wan VAE)")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3, help="epochs over the store per load-time measurement")
    parser.add_argument("--out", default=None, help="keep the store here (default: a temporary folder)")
    args = parser.parse_args()

    import numpy as np
    import torch

    from idvid.data.cache_latents import cache_latents
    from idvid.data.dataset import ClipDataset, frames_to_video
    from idvid.data.latent_cache import cache_identity, find_latent_cache
    from idvid.data.synth import synthesize
    from idvid.engines.dit.pipeline import IDVideoPipeline

    print(f"cpus: {os.cpu_count()}, torch threads: {torch.get_num_threads()}, load average: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        root = args.out or os.path.join(tmp, "synth")
        synthesize(root, identities=args.identities, clips_per_identity=args.clips_per_identity, seed=0,
                   size=args.size, num_frames=args.clip_frames, heldout_fraction=0.0, progress=False, overwrite=True)
        caching_rate(root, args.frames, args.batch_size)  # warm-up, not shown
        for batch_size in (1, args.batch_size):
            print(f"caching, {batch_size} clip(s) per VAE call: {args.frames} frames at {args.size}x{args.size}: "
                  f"{caching_rate(root, args.frames, batch_size):.2f} clips/s")
        cache_latents(root, "tiny", args.frames, batch_size=args.batch_size, progress=False)  # the one read below

        pipe = IDVideoPipeline.from_pretrained("tiny")
        cache = find_latent_cache(root, cache_identity(pipe, "tiny", args.frames))
        options = dict(split=None, num_frames=args.frames, caption_dropout=0.0, identity_dropout=0.0)
        plain, cached = ClipDataset(root, **options), ClipDataset(root, latent_cache=cache, **options)

        @torch.no_grad()
        def encode(sample):  # what the training step computes from a decoded sample
            pipe.family.encode(pipe.vae, sample["video"].permute(1, 0, 2, 3)[None])
            pipe.encode_prompt([sample["caption"]])

        per_sample_seconds(plain, 1)  # warm up the decoder and file caches
        t_plain = per_sample_seconds(plain, args.rounds)
        t_cached = per_sample_seconds(cached, args.rounds)
        t_encode = per_sample_seconds(plain, args.rounds, after=encode)
        print(f"dataset load per sample: {1000 * t_plain:.2f} ms decoding the mp4, {1000 * t_cached:.2f} ms from "
              f"the cache: {t_plain / t_cached:.1f}x faster")
        rng = np.random.default_rng(0)
        window = cache.window(args.clip_frames)
        d_target = seconds_each(plain.metas, lambda m: frames_to_video(plain.store.read_frames(m["clip_id"], window)),
                                args.rounds)
        c_target = seconds_each(cached.metas, lambda m: cache.sample(cache.load(cached.store, m), False, rng),
                                args.rounds)
        print(f"target part alone: {1000 * d_target:.2f} ms decoding, {1000 * c_target:.2f} ms from the cache: "
              f"{d_target / c_target:.1f}x faster")
        print(f"with the step's own encoding (VAE + text encoder): {1000 * t_encode:.2f} ms per sample without the "
              f"cache: {t_encode / t_cached:.1f}x")


if __name__ == "__main__":
    main()
