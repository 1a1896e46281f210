"""Time cost of identity injection in one denoising forward.

A randomly initialised WanTransformer3DModel at Wan2.1-1.3B width (12 heads x 128, ffn 8960) with
a few blocks runs on the latent of 17 frames at 256x256 ((1, 16, 5, 32, 32), 1280 video tokens) and
64 text tokens, bare and with an IdentityInjector attached (K=16 identity tokens, projected to keys
and values in every block), interleaved in the same process; the median of the repeats is reported.
Then the same under First Block Cache, over a sampling loop: the cache skips blocks (and their
injections), so the cost is compared per executed block, counted.

    python benchmarks/injection_overhead.py [--repeats 7] [--layers 4] [--threads 2] [--steps 10]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from diffusers import WanTransformer3DModel
from diffusers.hooks import FirstBlockCacheConfig

from idvid.models.injection import IdentityInjector


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--identity-tokens", type=int, default=16)
    parser.add_argument("--steps", type=int, default=10, help="steps of the cached sampling loop")
    parser.add_argument("--threshold", type=float, default=0.1, help="First Block Cache threshold")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    # 1. Backbone at Wan2.1-1.3B width, a few blocks; injector sized from it.
    transformer = WanTransformer3DModel(
        num_attention_heads=12,
        attention_head_dim=128,
        ffn_dim=8960,
        num_layers=args.layers,
        text_dim=4096,
        freq_dim=256,
        in_channels=16,
        out_channels=16,
    ).eval()
    injector = IdentityInjector.for_transformer(transformer).eval()
    with torch.no_grad():  # a trained-looking adapter (a fresh one's output projections are zero)
        for attn in injector.attns:
            attn.to_out.weight.normal_(0, 0.02)
        injector.gate.fill_(0.1)

    # 2. Inputs: 17 frames at 256x256 -> latent (1, 16, 5, 32, 32); 64 text tokens.
    latents = torch.randn(1, 16, 5, 32, 32)
    text = torch.randn(1, 64, 4096)
    timestep = torch.tensor([500])
    identity = torch.randn(1, args.identity_tokens, injector.config.identity_dim)

    # Registered once, as a pipeline does; "bare" runs with the hooks idle (no identity set).
    injection = injector.register(transformer)
    with torch.inference_mode():
        def bare() -> torch.Tensor:
            return transformer(latents, timestep, text).sample

        def injected() -> torch.Tensor:
            with injection.use(identity):
                return transformer(latents, timestep, text).sample

        # 3. Warm up both, and check the injection really runs.
        changed = (injected() - bare()).abs().max().item()
        assert changed > 0, "injection had no effect"

        # 4. Interleaved timing of the whole forward.
        times: dict[str, list[float]] = {"bare": [], "injected": []}
        for _ in range(args.repeats):
            for name, fn in (("bare", bare), ("injected", injected)):
                times[name].append(timed(fn))

        # 5. The same split per block, timed in isolation: one Wan block vs one injection.
        n_tokens = 5 * 16 * 16
        hidden = torch.randn(1, n_tokens, injector.config.hidden_dim)
        text_tokens = transformer.condition_embedder.text_embedder(text)
        temb = torch.randn(1, 6, injector.config.hidden_dim)
        rotary = transformer.rope(latents)
        block_times = {"block": [], "injection": []}
        for _ in range(args.repeats):
            block_times["block"].append(timed(lambda: transformer.blocks[0](hidden, text_tokens, temb, rotary)))
            block_times["injection"].append(timed(lambda: injector(hidden, identity, 0)))

        # 6. A sampling loop under First Block Cache, bare and injected, interleaved.
        cached = {"bare": [], "injected": []}
        transformer.enable_cache(FirstBlockCacheConfig(threshold=args.threshold))
        for _ in range(args.repeats):
            for name in cached:
                tokens = identity if name == "injected" else None
                cached[name].append(cached_loop(transformer, injection, tokens, latents, text, args.steps))
        transformer.disable_cache()

    print(
        f"WanTransformer3DModel 1536 wide x {args.layers} blocks, {n_tokens} video tokens, 64 text tokens, "
        f"K={args.identity_tokens}, {args.threads} threads, {args.repeats} interleaved repeats"
    )
    n_params = sum(p.numel() for p in injector.parameters())
    print(f"injector params: {n_params / 1e6:.2f}M")
    report("whole forward", times, "bare", "injected")
    report("one block", block_times, "block", "injection", added=True)
    report_cached(cached, args)


def cached_loop(transformer, injection, identity, latents, text, steps) -> tuple[float, int]:
    """(seconds, blocks executed) of ``steps`` denoising calls on a fixed flow-matching path
    under the transformer's cache; identity None runs the bare backbone."""
    executed = []
    handles = [block.attn1.register_forward_pre_hook(lambda *_: executed.append(1)) for block in transformer.blocks]
    noise = torch.randn(latents.shape, generator=torch.Generator().manual_seed(1))
    transformer._reset_stateful_cache()
    start = time.perf_counter()
    for sigma in torch.linspace(1.0, 0.05, steps):
        x_t = (1 - sigma) * latents + sigma * noise
        with transformer.cache_context("bench"):
            if identity is None:
                transformer(x_t, sigma[None] * 1000, text)
            else:
                with injection.use(identity):
                    transformer(x_t, sigma[None] * 1000, text)
    seconds = time.perf_counter() - start
    for handle in handles:
        handle.remove()
    return seconds, len(executed)


def report_cached(runs: dict[str, list[tuple[float, int]]], args) -> None:
    print(f"\n{args.steps}-step loop under First Block Cache (threshold {args.threshold}):")
    per_block = {}
    for name, results in runs.items():
        per_block[name] = statistics.median(seconds / blocks for seconds, blocks in results)
        blocks = statistics.median(blocks for _, blocks in results)
        print(f"  {name:10s} {blocks:.0f} of {args.steps * args.layers} blocks executed, "
              f"{per_block[name] * 1e3:.1f} ms per executed block (median)")
    print(f"  overhead per executed block: {100 * (per_block['injected'] / per_block['bare'] - 1):+.2f}%")


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def report(title: str, times: dict[str, list[float]], base: str, other: str, added: bool = False) -> None:
    """Median and min (min is the least disturbed by other load on a shared machine)."""
    print(f"\n{title}:")
    for name in (base, other):
        all_ms = ", ".join(f"{t * 1e3:.0f}" for t in times[name])
        median, fastest = statistics.median(times[name]), min(times[name])
        print(f"  {name:10s} median {median * 1e3:8.1f} ms, min {fastest * 1e3:8.1f} ms  ({all_ms})")
    for stat in (statistics.median, min):
        ratio = stat(times[other]) / stat(times[base])
        overhead = ratio if added else ratio - 1
        print(f"  overhead ({stat.__name__}): {100 * overhead:+.2f}%  (goal <= +5%)")


if __name__ == "__main__":
    main()
