"""Expected GPU memory and step time of the shipped training recipes, computed (not measured: no GPU).

    python benchmarks/train_memory.py

Every model is built on the meta device from its published config (no weights allocated), so the
parameter counts are exact. Bytes per parameter follow what the trainer does: the frozen backbone
and text encoder in bf16, the VAE in float32, and for every trained parameter its float32 weight,
gradient and two AdamW moments plus the EMA copy (20 bytes); frozen face models (FantasyID's EVA-CLIP,
BiSeNet and DECA) in float32. Activations assume the recipes'
gradient checkpointing and a latent cache (no VAE encoding in the step): each block's input is
kept (tokens x width, bf16) and one block is recomputed at a time; that block's working set is
estimated as tokens x (12 x width + 2 x ffn width) bf16 values. Real runs add the CUDA context and
allocator slack (typically 1-3 GB).

Step time: matmul FLOPs of a frozen-backbone step, forward + recomputation + backward to the
activations (no weight gradients) = 3 x 2 x params x tokens, plus attention 3 x 4 x tokens^2 x width
per layer, at an assumed 400 TFLOP/s (about 40% of an H100's dense bf16 peak).
"""

from __future__ import annotations

from accelerate import init_empty_weights
from adapter_params import BACKBONES
from diffusers import AutoencoderKLCogVideoX, AutoencoderKLWan
from transformers import T5Config, T5EncoderModel, UMT5Config, UMT5EncoderModel

from idvid.models.face_knowledge import FaceKnowledgeEncoder
from idvid.models.injection import IdentityInjector

GB = 1024**3
EFFECTIVE_FLOPS = 400e12
# Published text encoders: T5 v1.1 XXL (CogVideoX), UMT5-XXL (Wan).
T5_XXL = dict(d_model=4096, d_ff=10240, d_kv=64, num_heads=64, num_layers=24, feed_forward_proj="gated-gelu")
TEXT_ENCODERS = {"cogvideox": (T5EncoderModel, T5Config, dict(T5_XXL, vocab_size=32128)),
                 "wan": (UMT5EncoderModel, UMT5Config, dict(T5_XXL, vocab_size=256384))}
VAES = {"cogvideox": AutoencoderKLCogVideoX, "wan": AutoencoderKLWan}
# recipe -> (backbone row of adapter_params, family, frames, height, width, VAE factors (t, s), batch)
RECIPES = {
    "cogvideox-5b-i2v": ("CogVideoX-5B-I2V", "cogvideox", 49, 480, 720, (4, 8), 1),
    "fantasyid": ("CogVideoX-5B-I2V", "cogvideox", 49, 480, 720, (4, 8), 1),
    "wan2.1-1.3b": ("Wan2.1-T2V-1.3B", "wan", 81, 480, 832, (4, 8), 1),
    "wan2.1-14b": ("Wan2.1-T2V-14B", "wan", 81, 480, 832, (4, 8), 1),
}


def params(model) -> int:
    return sum(p.numel() for p in model.parameters())


def idvid_adapter(transformer) -> tuple[int, int]:
    """(trained parameters, frozen face-model parameters) of idvid's adapter on ``transformer``."""
    return params(FaceKnowledgeEncoder()) + params(IdentityInjector.for_transformer(transformer, identity_dim=512)), 0


def fantasyid_face_modules(transformer) -> tuple[int, int]:
    """FantasyID's face modules on the same backbone (released layout: face attention after every
    other block), and its frozen face models: EVA02-CLIP-L's vision tower, BiSeNet, DECA's encoder."""
    from idvid.engines.consisid.eva_clip import EvaVisionTower
    from idvid.engines.consisid.parsing import BiSeNet
    from idvid.engines.fantasyid.deca import DecaEncoder
    from idvid.engines.fantasyid.transformer import FantasyIDTransformer3DModel
    from idvid.training.fantasyid import FACE_MODULES

    face = FantasyIDTransformer3DModel(**dict(transformer.config), cross_attn_interval=2)
    trained = sum(params(getattr(face, name)) for name in FACE_MODULES)
    return trained, params(EvaVisionTower()) + params(BiSeNet()) + params(DecaEncoder())


TRAINED = {"fantasyid": fantasyid_face_modules}


def recipe_memory(name: str, row: str, family: str, frames: int, height: int, width: int, factors,
                  batch: int) -> dict:
    cls, config = BACKBONES[row]
    with init_empty_weights():
        transformer = cls(**config)
        encoder_cls, config_cls, text_config = TEXT_ENCODERS[family]
        text_encoder = encoder_cls(config_cls(**text_config))
        vae = VAES[family]()
        trained, face_models = TRAINED.get(name, idvid_adapter)(transformer)
    width_model = transformer.config.num_attention_heads * transformer.config.attention_head_dim
    ffn = transformer.config.get("ffn_dim") or 4 * width_model
    temporal, spatial = factors
    tokens = batch * ((frames - 1) // temporal + 1) * (height // spatial // 2) * (width // spatial // 2)
    layers = transformer.config.num_layers
    return {
        "backbone (bf16)": params(transformer) * 2 / GB,
        "text encoder (bf16)": params(text_encoder) * 2 / GB,
        "VAE (fp32)": params(vae) * 4 / GB,
        "frozen face models (fp32)": face_models * 4 / GB,
        "trained + grads + AdamW + EMA": trained * 20 / GB,
        "checkpointed block inputs": tokens * width_model * 2 * layers / GB,
        "one block recomputed": tokens * (12 * width_model + 2 * ffn) * 2 / GB,
        "_tokens": tokens,
        "_trained": trained,
        "_seconds": 3 * (2 * params(transformer) * tokens + 4 * tokens**2 * width_model * layers) / EFFECTIVE_FLOPS,
    }


def main() -> None:
    print("| recipe | video tokens | trained | backbone | text encoder | VAE | face models | trained state | "
          "activations | total | step |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, spec in RECIPES.items():
        m = recipe_memory(name, *spec)
        activations = m["checkpointed block inputs"] + m["one block recomputed"]
        total = sum(v for k, v in m.items() if not k.startswith("_"))
        print(f"| {name} | {m['_tokens']:,} | {m['_trained'] / 1e6:.1f}M | {m['backbone (bf16)']:.1f} GB | "
              f"{m['text encoder (bf16)']:.1f} GB | {m['VAE (fp32)']:.2f} GB | {m['frozen face models (fp32)']:.1f} GB | "
              f"{m['trained + grads + AdamW + EMA']:.1f} GB | {activations:.1f} GB | "
              f"{total:.1f} GB ({total - m['text encoder (bf16)']:.1f} GB with the text encoder on the CPU) | "
              f"{m['_seconds']:.1f} s |")


if __name__ == "__main__":
    main()
