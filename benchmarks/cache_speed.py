"""What diffusers' caches buy on idvid's DiT engine: speed-up against fidelity to the uncached video.

    python benchmarks/cache_speed.py [--presets tiny tiny-cogvideox] [--layers 8] [--heads 4]
                                     [--size 128] [--frames 17] [--steps 20] [--repeats 3]

Per preset (the tiny Wan and CogVideoX classes, made deeper and wider by --layers/--heads so the
denoiser, not the VAE, dominates), with an adapter that changes the video (a fresh one is a no-op):

the whole generation uncached, then with each cache (First Block Cache at several thresholds,
Pyramid Attention Broadcast), same seed, same process: median seconds, speed-up, and PSNR to the
uncached video over the whole frame and over the face region (the face box YuNet finds in the
uncached frames; random weights draw no face, so the centre third stands in and is named).
Identity injection's own cost, with and without the cache, is benchmarks/injection_overhead.py's.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
PROMPT = "a woman turns to her left and smiles"


def build(preset_name: str, layers: int, heads: int):
    """The preset's tiny components with a deeper, wider transformer and an adapter that acts."""
    from idvid.engines.dit.pipeline import IDVideoPipeline
    from idvid.models.injection import IdentityInjector
    from idvid.presets import get_preset

    preset = get_preset(preset_name)
    torch.manual_seed(0)
    components = IDVideoPipeline.builtin_components(preset)
    small = components["transformer"]
    components["transformer"] = type(small).from_config({**small.config, "num_layers": layers,
                                                         "num_attention_heads": heads})
    adapter = IdentityInjector.for_transformer(components["transformer"], identity_dim=components[
        "face_encoder"].config.hidden_dim, inner_dim=16, num_heads=2)
    with torch.no_grad():  # what training does to the zero output projections
        for attn in adapter.attns:
            attn.to_out.weight.normal_(0, 0.2)
        adapter.gate.fill_(0.5)
    components["id_adapter"] = adapter
    pipe = IDVideoPipeline(**components, generation_defaults=preset.defaults)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def caches():
    from diffusers.hooks import FirstBlockCacheConfig, PyramidAttentionBroadcastConfig

    def pab(pipe):
        return PyramidAttentionBroadcastConfig(spatial_attention_block_skip_range=2,
                                               spatial_attention_timestep_skip_range=(100, 800),
                                               current_timestep_callback=lambda: pipe.current_timestep)

    return {f"FBC {t}": (lambda pipe, t=t: FirstBlockCacheConfig(threshold=t)) for t in (0.05, 0.1, 0.2)} | {
        "PAB skip 2": pab}


def timed_video(pipe, photo, args) -> tuple[float, np.ndarray]:
    times, frames = [], None
    for _ in range(args.repeats):
        start = time.perf_counter()
        frames = pipe(prompt=PROMPT, faces=[photo], num_frames=args.frames, height=args.size, width=args.size,
                      num_inference_steps=args.steps, seed=0).frames
        times.append(time.perf_counter() - start)
    return statistics.median(times), frames


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def face_box(frames: np.ndarray) -> tuple[tuple[slice, slice], str]:
    """The largest face YuNet finds in the middle frame, else the centre third."""
    from idvid.face.detect import YuNetDetector

    faces = YuNetDetector()(np.ascontiguousarray(frames[len(frames) // 2]))
    if faces:
        x, y, w, h = (int(v) for v in max(faces, key=lambda f: f.box[2] * f.box[3]).box)
        return (slice(max(y, 0), y + h), slice(max(x, 0), x + w)), "YuNet face box"
    h, w = frames.shape[1:3]
    return (slice(h // 3, 2 * h // 3), slice(w // 3, 2 * w // 3)), "centre third (no face in random-weight frames)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="+", default=["tiny", "tiny-cogvideox"])
    parser.add_argument("--layers", type=int, default=8)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--frames", type=int, default=17)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--photo", default=str(ROOT / "assets" / "astronaut.jpg"))
    args = parser.parse_args()
    from idvid.face import FaceAnalyzer

    photo = FaceAnalyzer().analyze(args.photo)
    print(f"{args.size}x{args.size}, {args.frames} frames, {args.steps} steps, {args.layers} blocks x "
          f"{args.heads} heads, {torch.get_num_threads()} threads, median of {args.repeats}")
    for preset in args.presets:
        pipe = build(preset, args.layers, args.heads)
        base_s, base = timed_video(pipe, photo, args)
        region, region_name = face_box(base)
        print(f"\n{preset} ({type(pipe.transformer).__name__}): uncached {base_s:.2f} s; face region: {region_name}")
        print(f"  {'cache':<12} {'seconds':>8} {'speed-up':>9} {'PSNR frame':>11} {'PSNR face':>10}")
        for name, config in caches().items():
            pipe.transformer.enable_cache(config(pipe))
            seconds, frames = timed_video(pipe, photo, args)
            pipe.transformer.disable_cache()
            face = (slice(None), *region)
            print(f"  {name:<12} {seconds:8.2f} {base_s / seconds:8.2f}x {psnr(frames, base):10.1f} "
                  f"{psnr(frames[face], base[face]):10.1f}")


if __name__ == "__main__":
    main()
