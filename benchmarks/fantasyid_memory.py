"""FantasyID's memory estimate at its published settings for each runtime option, computed from
the published configs (not measured: no GPU and no model hub yet).

    python benchmarks/fantasyid_memory.py

The models are built on the meta device: the CogVideoX-5B I2V transformer with FantasyID's face
modules, its VAE and T5-XXL, the face encoder (EVA02-CLIP-L, BiSeNet, ArcFace's 261 MB ONNX
graph) and the 3D prior (DECA's encoder, FLAME); the plan is the one `idvid generate` checks.
"""

from __future__ import annotations

import torch
from adapter_params import BACKBONES
from diffusers import AutoencoderKLCogVideoX
from train_memory import T5_XXL
from transformers import T5Config, T5EncoderModel

from idvid.engines.consisid.eva_clip import EvaVisionTower
from idvid.engines.consisid.parsing import BiSeNet
from idvid.engines.dit.limits import module_bytes
from idvid.engines.fantasyid.deca import DecaEncoder
from idvid.engines.fantasyid.limits import loaded_spec, plan_for_spec
from idvid.engines.fantasyid.transformer import FantasyIDTransformer3DModel
from idvid.engines.request import GenerationOptions
from idvid.engines.runtime import RuntimeOptions
from idvid.presets import CONSISID_DEFAULTS

ARCFACE_ONNX_BYTES = 261 * 2**20  # glintr100.onnx
# FLAME as DECA uses it: 150 blend shapes, 36 pose correctives, skinning and joint weights (float32), faces
FLAME_BYTES = 4 * 5023 * (3 * 150 + 36 * 3 + 2 * 5 + 3) + 8 * 9976 * 3
RUNTIMES = {"float32": RuntimeOptions(), "bfloat16": RuntimeOptions(dtype="bfloat16"),
            "bf16 + model offload": RuntimeOptions(dtype="bfloat16", offload="model"),
            "bf16 + model offload + VAE tiling": RuntimeOptions(dtype="bfloat16", offload="model", vae_tiling=True),
            "bf16 + group offload + VAE tiling": RuntimeOptions(dtype="bfloat16", offload="group", vae_tiling=True)}


def main() -> None:
    _, config = BACKBONES["CogVideoX-5B-I2V"]
    with torch.device("meta"):
        transformer = FantasyIDTransformer3DModel(**config, cross_attn_interval=2)
        vae = AutoencoderKLCogVideoX()
        text_encoder = T5EncoderModel(T5Config(**T5_XXL, vocab_size=32128))
        face = module_bytes([EvaVisionTower(), BiSeNet(), DecaEncoder()]) + ARCFACE_ONNX_BYTES + FLAME_BYTES
    spec = loaded_spec(transformer, vae, CONSISID_DEFAULTS, [transformer, vae, text_encoder], face)
    options = GenerationOptions()
    print("| option | memory (49 frames, 480×720, CFG) |\n|---|---:|")
    for name, runtime in RUNTIMES.items():
        plan = plan_for_spec(spec, options, runtime)
        print(f"| {name} | {plan.memory_bytes / 2**30:.1f} GiB |")


if __name__ == "__main__":
    main()
