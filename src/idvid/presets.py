"""Named models users can pass to ``--model``: one registry for the CLI, the API and the benchmarks.

A preset says which engine runs it and where its weights come from. Model hyper-parameters
are not here: they live in each model's saved config.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Preset:
    name: str
    engine: str  # a key of idvid.engines.ENGINES
    description: str
    family: str | None = None  # backbone family for DiT engines
    repo_id: str | None = None  # diffusers-format base model; None: built in, nothing to download
    image_to_video: bool = False
    shipped: bool = False  # weights live inside the package (idvid/assets/<name>)
    # "module:function" giving the random components of a built-in preset (repo_id None); None:
    # the family's tiny components with a tiny face encoder and adapter.
    builder: str | None = None
    # Generation defaults a user can override per call (frames, size, steps, guidance, fps).
    defaults: dict = field(default_factory=dict)

    @property
    def env_var(self) -> str:
        """Environment variable that points this preset at a local directory."""
        return "IDVID_MODEL_" + re.sub(r"[^A-Z0-9]+", "_", self.name.upper()).strip("_")


def _tiny_defaults(frames: int = 17) -> dict:
    return dict(num_frames=frames, height=64, width=64, num_inference_steps=4, guidance_scale=3.0,
                identity_guidance_scale=2.0, fps=8)


_COGVIDEOX_DEFAULTS = dict(num_frames=49, height=480, width=720, num_inference_steps=50, guidance_scale=6.0,
                           identity_guidance_scale=2.0, fps=8)
_WAN_DEFAULTS = dict(num_frames=81, height=480, width=832, num_inference_steps=50, guidance_scale=5.0,
                     identity_guidance_scale=2.0, fps=16)

# Wan-VACE takes the person from reference images: no identity guidance.
VACE_DEFAULTS = {k: v for k, v in _WAN_DEFAULTS.items() if k != "identity_guidance_scale"}

# ConsisID's published sampling settings (diffusers' example): CogVideoX-5B's grid and CFG.
CONSISID_DEFAULTS = {k: v for k, v in _COGVIDEOX_DEFAULTS.items() if k != "identity_guidance_scale"}

# What a plain backbone directory of each family generates by default.
FAMILY_DEFAULTS = {"cogvideox": _COGVIDEOX_DEFAULTS, "wan": _WAN_DEFAULTS}

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset("nano", "nano", "offline CPU engine: your photo on its 3D face mesh, animated from text",
               shipped=True),
        Preset("tiny", "dit", "random tiny Wan-class DiT + VAE for tests and CPU smoke runs (untrained)",
               family="wan", defaults=_tiny_defaults()),
        Preset("tiny-cogvideox", "dit", "random tiny CogVideoX-class T2V DiT + VAE (untrained)",
               family="cogvideox", defaults=_tiny_defaults()),
        Preset("tiny-cogvideox-i2v", "dit", "random tiny CogVideoX-class I2V DiT + VAE (untrained)",
               family="cogvideox", image_to_video=True, defaults=_tiny_defaults()),
        Preset("pixel-small", "dit", "6-layer Wan-class DiT on 8x8 pixel-shuffle latents with MiniLM text, "
               "random init: the from-scratch model of the identity ablation (train it with idvid train)",
               family="wan", builder="idvid.models.backbones.scratch:pixel_small_components",
               defaults=dict(num_frames=9, height=64, width=64, num_inference_steps=16, guidance_scale=3.0,
                             identity_guidance_scale=2.0, fps=8)),
        Preset("cogvideox-5b", "dit", "CogVideoX-5B text-to-video with an identity adapter",
               family="cogvideox", repo_id="THUDM/CogVideoX-5b", defaults=_COGVIDEOX_DEFAULTS),
        Preset("cogvideox-5b-i2v", "dit", "CogVideoX-5B image-to-video, conditioned on the face photo",
               family="cogvideox", repo_id="THUDM/CogVideoX-5b-I2V", image_to_video=True,
               defaults=_COGVIDEOX_DEFAULTS),
        Preset("wan2.1-1.3b", "dit", "Wan2.1 T2V 1.3B with an identity adapter",
               family="wan", repo_id="Wan-AI/Wan2.1-T2V-1.3B-Diffusers", defaults=_WAN_DEFAULTS),
        Preset("wan2.1-14b", "dit", "Wan2.1 T2V 14B with an identity adapter",
               family="wan", repo_id="Wan-AI/Wan2.1-T2V-14B-Diffusers",
               defaults={**_WAN_DEFAULTS, "height": 720, "width": 1280}),
        # Wan 2.2's two-expert 14B: high-noise and low-noise transformers, one adapter each.
        Preset("wan2.2-t2v-a14b", "dit", "Wan2.2 T2V A14B (two experts) with an identity adapter per expert",
               family="wan", repo_id="Wan-AI/Wan2.2-T2V-A14B-Diffusers",
               defaults={**_WAN_DEFAULTS, "height": 720, "width": 1280, "guidance_scale": 4.0}),
        # Wan 2.2's 5B model in text-to-video mode (its 16x VAE; one transformer, so one adapter).
        Preset("wan2.2-ti2v-5b", "dit", "Wan2.2 TI2V 5B (text-to-video mode) with an identity adapter",
               family="wan", repo_id="Wan-AI/Wan2.2-TI2V-5B-Diffusers",
               defaults={**_WAN_DEFAULTS, "num_frames": 121, "height": 704, "width": 1280, "fps": 24}),
        # Wan2.1-VACE: the person as reference images, the scene from the prompt (Apache-2.0 weights).
        Preset("wan2.1-vace-1.3b", "vace", "Wan2.1-VACE 1.3B: the person from reference images, the scene from "
               "the prompt", family="wan", repo_id="Wan-AI/Wan2.1-VACE-1.3B-diffusers", defaults=VACE_DEFAULTS),
        Preset("wan2.1-vace-14b", "vace", "Wan2.1-VACE 14B: the person from reference images, the scene from "
               "the prompt", family="wan", repo_id="Wan-AI/Wan2.1-VACE-14B-diffusers",
               defaults={**VACE_DEFAULTS, "height": 720, "width": 1280}),
        Preset("tiny-vace", "vace", "random tiny Wan-VACE-class DiT + VAE for tests and CPU smoke runs (untrained)",
               family="wan", builder="idvid.engines.vace.tiny:tiny_components",
               defaults={k: v for k, v in _tiny_defaults().items() if k != "identity_guidance_scale"}),
        # ConsisID: CogVideoX-5B I2V with face modules (Apache-2.0 weights, face_encoder/ included).
        Preset("consisid", "consisid", "ConsisID (CogVideoX-5B I2V + face modules): the person from ArcFace and "
               "EVA-CLIP features of one photo", family="cogvideox", repo_id="BestWishYsh/ConsisID-preview",
               image_to_video=True, defaults=CONSISID_DEFAULTS),
        Preset("tiny-consisid", "consisid", "random tiny ConsisID-class DiT, VAE and face encoder for tests and "
               "CPU smoke runs (untrained)", family="cogvideox", image_to_video=True,
               builder="idvid.engines.consisid.tiny:tiny_components",
               defaults={k: v for k, v in _tiny_defaults().items() if k != "identity_guidance_scale"}),
        # FantasyID: CogVideoX-5B I2V with 2D+3D face modules (Apache-2.0 weights, face_encoder/ included).
        Preset("fantasyid", "fantasyid", "FantasyID (CogVideoX-5B I2V + 2D and 3D face modules): the person from "
               "one photo and their FLAME face shape; also needs idvid convert's face_prior/ (mesh, DECA, FLAME)",
               family="cogvideox", repo_id="acvlab/FantasyID",
               image_to_video=True, defaults=CONSISID_DEFAULTS),
        Preset("tiny-fantasyid", "fantasyid", "random tiny FantasyID-class DiT, VAE, face encoder and mesh for "
               "tests and CPU smoke runs (untrained)", family="cogvideox", image_to_video=True,
               builder="idvid.engines.fantasyid.tiny:tiny_components",
               defaults={k: v for k, v in _tiny_defaults().items() if k != "identity_guidance_scale"}),
    )
}

DEFAULT_MODEL = "nano"


def get_preset(name: str) -> Preset:
    from idvid.errors import ModelFileError

    if name not in PRESETS:
        raise ModelFileError(
            f"unknown model {name!r}: not a preset ({', '.join(PRESETS)}) and not an existing directory"
        )
    return PRESETS[name]


def resolve_preset_dir(preset: Preset) -> tuple[Path | None, str]:
    """Where a preset's base weights are: (directory or None, how it was found or what to do).

    Order: the preset's environment variable, then the Hugging Face cache. Never a path
    relative to the working directory, and never a download.
    """
    if preset.shipped:
        from importlib.resources import files

        return Path(str(files("idvid") / "assets" / preset.name)), "shipped in the package"
    if preset.repo_id is None:
        return None, "built in (random weights, nothing to load)"
    env = os.environ.get(preset.env_var)
    if env:
        return Path(env).expanduser(), f"${preset.env_var}"
    try:
        from huggingface_hub import snapshot_download

        path = snapshot_download(preset.repo_id, local_files_only=True)
        return Path(path), "Hugging Face cache"
    except Exception:  # noqa: BLE001 - any cache miss means "not available locally"
        return None, f"not found: set ${preset.env_var} to a local copy of {preset.repo_id}, or put it in the HF cache"


def preset_dir(preset: Preset) -> Path:
    """The directory a downloadable preset's weights are in; ModelFileError saying where they
    were looked for when they are not there."""
    from idvid.errors import ModelFileError

    path, how = resolve_preset_dir(preset)
    if path is None:
        raise ModelFileError(f"model {preset.name!r} is {how}")
    return path
