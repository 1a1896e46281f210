"""The diffusion engines' memory and speed options, shared by generate and bench."""

from __future__ import annotations


def add_runtime_arguments(p) -> None:
    """Memory and speed options of the diffusion engines (see idvid.engines.runtime)."""
    from idvid.engines.runtime import DTYPES, OFFLOADS

    group = p.add_argument_group("memory and speed (diffusion engines; `idvid info` shows what each needs)")
    group.add_argument("--dtype", default="float32", choices=DTYPES,
                       help="precision of weights and activations (bfloat16 halves both; default: %(default)s)")
    group.add_argument("--offload", default="none", choices=OFFLOADS,
                       help="keep one model (model) or one transformer block (group) on the GPU at a time")
    group.add_argument("--vae-tiling", action="store_true", help="decode in tiles: flat memory in the frame size")
    group.add_argument("--cache", type=float, metavar="T",
                       help="First Block Cache threshold: skip the blocks on steps that change little "
                       "(0.05-0.2: faster, costs fidelity)")


def runtime_options(args):
    from idvid.engines.runtime import RuntimeOptions

    return RuntimeOptions(dtype=args.dtype, offload=args.offload, vae_tiling=args.vae_tiling, cache=args.cache)
