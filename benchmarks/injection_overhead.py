"""Time cost of identity injection in one denoising forward.

A randomly initialised WanTransformer3DModel at Wan2.1-1.3B width (12 heads x 128, ffn 8960) with
a few blocks runs on the latent of 17 frames at 256x256 ((1, 16, 5, 32, 32), 1280 video tokens) and
64 text tokens, bare and with an IdentityInjector attached (K=16 identity tokens, projected to keys
and values in every block), interleaved in the same process; the median of the repeats is reported.

    python benchmarks/injection_overhead.py [--repeats 7] [--layers 4] [--threads 2]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from diffusers import WanTransformer3DModel

from idvid.models.injection import IdentityInjector


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--identity-tokens", type=int, default=16)
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
    with torch.no_grad():
        injector.gate.fill_(0.1)  # a trained-looking adapter; the cost does not depend on the value

    # 2. Inputs: 17 frames at 256x256 -> latent (1, 16, 5, 32, 32); 64 text tokens.
    latents = torch.randn(1, 16, 5, 32, 32)
    text = torch.randn(1, 64, 4096)
    timestep = torch.tensor([500])
    identity = torch.randn(1, args.identity_tokens, injector.config.identity_dim)

    with torch.inference_mode():
        def bare() -> torch.Tensor:
            return transformer(latents, timestep, text).sample

        def injected() -> torch.Tensor:
            with injector.attach(transformer, identity):
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

    print(
        f"WanTransformer3DModel 1536 wide x {args.layers} blocks, {n_tokens} video tokens, 64 text tokens, "
        f"K={args.identity_tokens}, {args.threads} threads, {args.repeats} interleaved repeats"
    )
    n_params = sum(p.numel() for p in injector.parameters())
    print(f"injector params: {n_params / 1e6:.2f}M")
    report("whole forward", times, "bare", "injected")
    report("one block", block_times, "block", "injection", added=True)


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
        print(f"  overhead ({stat.__name__}): {100 * overhead:+.2f}%  (target <= 10%)")


if __name__ == "__main__":
    main()
