"""Adapter size against each published backbone: FaceKnowledgeEncoder + IdentityInjector params
as a share of the diffusers transformer's params. Everything is built on the meta device, so no
weights are allocated or downloaded.

    python benchmarks/adapter_params.py

Prints a markdown table and exits non-zero if a default adapter adds more than 5% to a backbone.
"""

from __future__ import annotations

import argparse
import sys

from accelerate import init_empty_weights
from diffusers import CogVideoXTransformer3DModel, WanTransformer3DModel

from idvid.models.face_knowledge import FaceKnowledgeEncoder
from idvid.models.injection import IdentityInjector

# Published transformer configs (the config.json of each checkpoint's `transformer/` folder).
_COGVIDEOX_5B = dict(
    num_attention_heads=48,
    attention_head_dim=64,
    in_channels=16,
    out_channels=16,
    time_embed_dim=512,
    text_embed_dim=4096,
    num_layers=42,
    sample_width=90,
    sample_height=60,
    sample_frames=49,
    patch_size=2,
    max_text_seq_length=226,
    use_rotary_positional_embeddings=True,
)
_WAN_1_3B = dict(
    patch_size=(1, 2, 2),
    num_attention_heads=12,
    attention_head_dim=128,
    in_channels=16,
    out_channels=16,
    text_dim=4096,
    freq_dim=256,
    ffn_dim=8960,
    num_layers=30,
    cross_attn_norm=True,
    qk_norm="rms_norm_across_heads",
    eps=1e-6,
)
BACKBONES = {
    "CogVideoX-5B (T2V)": (CogVideoXTransformer3DModel, _COGVIDEOX_5B),
    "CogVideoX-5B-I2V": (
        CogVideoXTransformer3DModel,
        {**_COGVIDEOX_5B, "in_channels": 32, "use_learned_positional_embeddings": True},
    ),
    "Wan2.1-T2V-1.3B": (WanTransformer3DModel, _WAN_1_3B),
    "Wan2.1-T2V-14B": (
        WanTransformer3DModel,
        {**_WAN_1_3B, "num_attention_heads": 40, "ffn_dim": 13824, "num_layers": 40},
    ),
    # Two experts of the 14B config, an injector each (the face encoder is shared).
    "Wan2.2-T2V-A14B": (
        WanTransformer3DModel,
        {**_WAN_1_3B, "num_attention_heads": 40, "ffn_dim": 13824, "num_layers": 40},
    ),
    "Wan2.2-TI2V-5B": (
        WanTransformer3DModel,
        {**_WAN_1_3B, "num_attention_heads": 24, "ffn_dim": 14336, "in_channels": 48, "out_channels": 48},
    ),
}
EXPERTS = {"Wan2.2-T2V-A14B": 2}
MAX_RATIO = 0.05


def count(model) -> int:
    return sum(p.numel() for p in model.parameters())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-ratio", type=float, default=MAX_RATIO, help="largest allowed adapter/backbone ratio")
    args = parser.parse_args()

    with init_empty_weights():
        encoder = FaceKnowledgeEncoder()
    n_encoder = count(encoder)
    print(f"FaceKnowledgeEncoder (default config): {n_encoder / 1e6:.2f}M params\n")
    print("| backbone | width x layers | backbone params | encoder | injector | adapter | adapter / backbone |")
    print("|---|---|---:|---:|---:|---:|---:|")
    ok = True
    for name, (cls, config) in BACKBONES.items():
        with init_empty_weights():
            transformer = cls(**config)
            injector = IdentityInjector.for_transformer(transformer, identity_dim=encoder.config.hidden_dim)
        experts = EXPERTS.get(name, 1)
        n_backbone, n_injector = experts * count(transformer), experts * count(injector)
        ratio = (n_encoder + n_injector) / n_backbone
        ok &= ratio <= args.max_ratio
        width = f"{injector.config.hidden_dim} x {injector.config.num_layers}" + (f" x {experts}" if experts > 1 else "")
        print(
            f"| {name} | {width} | {n_backbone / 1e9:.3f}B | {n_encoder / 1e6:.1f}M | {n_injector / 1e6:.1f}M "
            f"| {(n_encoder + n_injector) / 1e6:.1f}M | {100 * ratio:.2f}% |"
        )
    print(f"\nall adapters <= {100 * args.max_ratio:.0f}% of their backbone: {'yes' if ok else 'NO'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
