"""What a DiT model can make and what a request costs, read from configs alone.

``plan`` builds the transformer and VAE on the meta device (no weights, no memory) from a
built-in preset's code or a directory's ``config.json`` files, so frame and size grids,
defaults and a memory estimate are known before a single weight loads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from importlib import import_module
from pathlib import Path

from idvid.engines.dit.guidance import guidance_rows
from idvid.engines.model_dir import check_model_dir
from idvid.engines.request import GenerationOptions, GenerationPlan
from idvid.engines.runtime import RuntimeOptions
from idvid.errors import GenerationError, ModelFileError
from idvid.models.backbones import VideoGeometry, family_of
from idvid.models.injection import find_blocks
from idvid.presets import FAMILY_DEFAULTS, PRESETS, get_preset, preset_dir

# Process memory before any model: Python, torch, diffusers, the face stack (measured 0.9-1.1 GB).
BASE_BYTES = 1024 * 2**20
# Live float32 tensors per token and channel in one transformer block (hidden, q, k, v,
# attention output, residual, norms); the feed-forward adds 2 per token and hidden unit.
BLOCK_TENSORS = 8
OPTIONS = ("num_frames", "height", "width", "num_inference_steps", "guidance_scale", "identity_guidance_scale", "fps")
REFERENCE_OPTIONS = tuple(name for name in OPTIONS if name != "identity_guidance_scale")


@dataclass(frozen=True)
class DitSpec:
    """The facts a plan needs: grid, defaults, weight bytes and the widths that set activations."""

    geometry: VideoGeometry
    defaults: dict
    weight_bytes: int  # as float32, whatever the modules hold (the runtime's precision scales it)
    latent_channels: int
    patch: int  # transformer's spatial patch size
    width: int  # transformer's hidden width
    ffn: int  # transformer's feed-forward width
    decoder_floats: int  # live float32 values per pixel and frame in the VAE decoder's full-resolution stage
    decode_frames: int  # pixel frames the VAE decoder works on at once
    max_positions: int | None  # patches per axis the transformer's position table covers (Wan's RoPE)
    transformer_bytes: int  # of the weights: the (largest) transformer's
    vae_bytes: int
    blocks: int  # the transformer's blocks (group offloading moves one at a time)
    tile_pixels: int | None  # what the VAE decodes at once with tiling on (None: it cannot tile)

    def check_positions(self, num_frames: int, height: int, width: int) -> None:
        """GenerationError when a request has more patches along an axis than positions exist."""
        if self.max_positions is None:
            return
        g, limit = self.geometry, self.max_positions
        spatial_limit = limit * self.patch * g.spatial
        if g.latent_frames(num_frames) > limit:
            raise GenerationError(f"frames must be at most {(limit - 1) * g.temporal + 1} for this model "
                                  f"(got {num_frames})")
        for name, value in (("height", height), ("width", width)):
            if value > spatial_limit:
                raise GenerationError(f"{name} must be at most {spatial_limit} for this model (got {value})")

    def tokens(self, num_frames: int, height: int, width: int) -> int:
        """The transformer's sequence length for a video of this size."""
        h, w = height // self.geometry.spatial, width // self.geometry.spatial
        return self.geometry.latent_frames(num_frames) * (h // self.patch) * (w // self.patch)

    def memory(self, num_frames: int, height: int, width: int, rows: int,
               runtime: RuntimeOptions = RuntimeOptions()) -> int:
        """Estimated peak bytes of one generation with ``rows`` guidance rows per step, on the
        device that runs it."""
        latent_frames = self.geometry.latent_frames(num_frames)
        h, w = height // self.geometry.spatial, width // self.geometry.spatial
        tokens = self.tokens(num_frames, height, width)
        scale = runtime.size_factor
        denoise = scale * rows * tokens * (BLOCK_TENSORS * self.width + 2 * self.ffn) * 4
        if runtime.cache is not None:  # First Block Cache keeps the residual of the skipped blocks
            denoise += 2 * rows * tokens * self.width * 4
        latents = 4 * rows * self.latent_channels * latent_frames * h * w * 4
        pixels = height * width
        decoded = min(pixels, self.tile_pixels) if runtime.vae_tiling and self.tile_pixels else pixels
        decode = (scale * self.decoder_floats * min(num_frames, self.decode_frames) * decoded * 4
                  + 2 * 3 * num_frames * pixels * 4  # the decoded video, and its float copy in to_uint8
                  + 3 * num_frames * pixels)  # the uint8 frames
        return int(BASE_BYTES + self.device_weight_bytes(runtime) + latents + max(denoise, decode))

    def device_weight_bytes(self, runtime: RuntimeOptions = RuntimeOptions()) -> int:
        """Weights on the device at the peak: all of them, the largest model (model offload), or
        under group offload the largest of the text encoder (one group: it has no block list
        diffusers splits) and two transformer blocks with the VAE (one block loading while one runs)."""
        others = self.weight_bytes - self.transformer_bytes - self.vae_bytes  # text encoder, adapter, ...
        resident = {"none": self.weight_bytes,
                    "model": max(self.transformer_bytes, self.vae_bytes, others),
                    "group": max(others, 2 * self.transformer_bytes / max(1, self.blocks) + self.vae_bytes),
                    }[runtime.offload]
        return int(runtime.size_factor * resident)


def plan(model: str, options: GenerationOptions, runtime: RuntimeOptions = RuntimeOptions()) -> GenerationPlan:
    """Resolve ``options`` against ``model``'s defaults and grid; estimate its memory."""
    return plan_for_spec(dit_spec(model), options, runtime)


def plan_for_spec(spec: DitSpec, options: GenerationOptions, runtime: RuntimeOptions = RuntimeOptions()
                  ) -> GenerationPlan:
    """As :func:`plan`, for a spec at hand (a loaded pipeline's)."""
    opt = resolve_options(spec, options, OPTIONS)
    rows = len(guidance_rows(opt["guidance_scale"], opt["identity_guidance_scale"]))
    ignored = {}
    if options.negative_prompt and opt["guidance_scale"] == 1:
        ignored["negative_prompt"] = "at --guidance 1 there is no unconditional row for it to go into"
    return spec_plan(spec, opt, rows, ignored, runtime)


def reference_plan(spec: DitSpec, options: GenerationOptions, runtime: RuntimeOptions, engine_name: str,
                   max_photos: int) -> GenerationPlan:
    """The plan of an engine that takes the person from its own reference inputs, with no
    identity guidance (Wan-VACE, ConsisID): text guidance only, at most ``max_photos`` photos."""
    opt = resolve_options(spec, options, REFERENCE_OPTIONS)
    guided = opt["guidance_scale"] > 1  # diffusers' rule: no unconditional pass at or below 1
    ignored = {}
    if options.identity_guidance_scale is not None:
        ignored["identity_guidance_scale"] = f"{engine_name} takes the person from its reference inputs alone"
    if options.negative_prompt and not guided:
        ignored["negative_prompt"] = "at --guidance 1 or below there is no unconditional pass for it to go into"
    return replace(spec_plan(spec, opt, 2 if guided else 1, ignored, runtime), max_photos=max_photos)


def model_spec(model: str, builtin, from_directory, defaults: dict):
    """The spec of a preset name or a model directory: ``builtin(preset)`` for a built-in preset,
    else ``from_directory(path, defaults)`` (a preset's own defaults, or ``defaults``)."""
    if model in PRESETS and not Path(model).is_dir():
        preset = get_preset(model)
        if preset.repo_id is None:
            return builtin(preset)
        return from_directory(preset_dir(preset), preset.defaults)
    return from_directory(Path(model).expanduser(), defaults)


def resolve_options(spec: DitSpec, options: GenerationOptions, names: tuple[str, ...]) -> dict:
    """The options ``names``, each as given or the model's default, checked against its grid."""
    opt = options.with_defaults({name: spec.defaults.get(name) for name in names})
    GenerationOptions(**opt)  # a saved default may be out of range too
    spec.geometry.check(opt["num_frames"], opt["height"], opt["width"])
    spec.check_positions(opt["num_frames"], opt["height"], opt["width"])
    return opt


def spec_plan(spec: DitSpec, opt: dict, rows: int, ignored: dict[str, str], runtime: RuntimeOptions) -> GenerationPlan:
    """The plan of resolved options ``opt`` with ``rows`` guidance rows per denoising step."""

    def estimate(num_frames: int, height: int, width: int) -> int:
        return spec.memory(num_frames, height, width, rows, runtime)

    return GenerationPlan(opt, estimate(opt["num_frames"], opt["height"], opt["width"]),
                          BASE_BYTES + spec.device_weight_bytes(runtime), ignored, estimate,
                          frame_step=spec.geometry.frame_step, size_step=spec.geometry.spatial_multiple)


def dit_spec(model: str) -> DitSpec:
    """The spec of a preset name or a model directory, without loading weights."""
    return model_spec(model, _builtin_spec, directory_spec, None)


def meta_components(build) -> dict:
    """``build()``'s components on the meta device (no memory), their shared embeddings tied as
    loading would tie them, so that they count once."""
    import torch
    from accelerate import init_empty_weights

    with torch.random.fork_rng(), init_empty_weights():  # module init draws random numbers
        components = build()
    for module in components.values():
        if hasattr(module, "tie_weights"):
            module.tie_weights()
    return components


def _builtin_spec(preset) -> DitSpec:
    from idvid.engines.dit.pipeline import IDVideoPipeline

    components = meta_components(lambda: IDVideoPipeline.builtin_components(preset, with_text_encoder=False))
    weights = module_bytes(components.values())
    return spec_of(components["transformer"], components["vae"], preset.defaults, weights)


def directory_spec(path: Path, defaults: dict | None, transformer_class: type | None = None,
                   transformer_folder: str = "transformer") -> DitSpec:
    """The spec of a diffusers directory; ``defaults`` None: a saved idvid pipeline's own, else its family's.
    ``transformer_class``: build the transformer from ``transformer_folder``'s config with this class
    instead of the one the model index names (a release whose index names its own code)."""
    import torch
    from accelerate import init_empty_weights

    index = check_model_dir(path, replaced={"transformer": transformer_folder})
    try:
        with torch.random.fork_rng(), init_empty_weights():
            vae = _from_config(path, "vae", index["vae"])
            transformer = (_from_config(path, "transformer", index["transformer"]) if transformer_class is None
                           else transformer_class.from_config(_read_config(path / transformer_folder)))
        family = family_of(transformer)
        if "face_encoder" in index:  # a saved idvid pipeline keeps its own defaults
            defaults = index.get("generation_defaults") or defaults
        # The transformer and VAE from their configs; the rest (text encoder, adapter) from the
        # file headers; all as float32, whatever the files hold.
        skip = ("transformer", "transformer_ema", "vae")
        others = _stored_bytes([f for f in path.glob("*/*.safetensors") if f.parent.name not in skip])
        return spec_of(transformer, vae, defaults or FAMILY_DEFAULTS[family.name],
                       module_bytes([transformer, vae]) + others)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise ModelFileError(f"cannot read the model in {path}: {type(err).__name__}: {err}") from None


def _read_config(folder: Path) -> dict:
    try:
        return json.loads((folder / "config.json").read_text())
    except (OSError, ValueError) as err:
        raise ModelFileError(f"cannot read {folder}: {err}") from None


def _from_config(path: Path, name: str, entry: list):
    try:
        library, class_name = entry
        cls = getattr(import_module(library), class_name)
    except (ImportError, AttributeError, ValueError, TypeError) as err:
        raise ModelFileError(f"cannot read {path / name}: {err}") from None
    return cls.from_config(_read_config(path / name))


def spec_of(transformer, vae, defaults: dict, weight_bytes: int) -> DitSpec:
    """The spec of a transformer and VAE (real or on the meta device)."""
    family = family_of(transformer)
    config = transformer.config
    patch = config.patch_size if isinstance(config.patch_size, int) else config.patch_size[-1]
    width = config.num_attention_heads * config.attention_head_dim
    geometry = family.geometry(vae, transformer)
    decoder_floats, decode_frames = _decoder_cost(vae.config, geometry.temporal)
    tile = (getattr(vae, "tile_sample_min_height", None), getattr(vae, "tile_sample_min_width", None))
    return DitSpec(
        geometry=geometry, defaults=dict(defaults), weight_bytes=weight_bytes,
        latent_channels=family.latent_channels(vae), patch=patch, width=width,
        ffn=config.get("ffn_dim", 4 * width), decoder_floats=decoder_floats, decode_frames=decode_frames,
        max_positions=config.get("rope_max_seq_len"), transformer_bytes=module_bytes([transformer]),
        vae_bytes=module_bytes([vae]), blocks=len(find_blocks(transformer)),
        tile_pixels=tile[0] * tile[1] if None not in tile else None,
    )


def _decoder_cost(config, temporal: int) -> tuple[int, int]:
    """(live floats per pixel and frame, frames decoded at once) of a VAE's full-resolution stage,
    fitted to peaks measured on the tiny models (benchmarks/memory_estimate.py)."""
    if "base_dim" in config:  # AutoencoderKLWan: causal, one latent frame at a time
        return 5 * config.base_dim * config.dim_mult[0], 2 * temporal
    if "block_out_channels" in config:  # AutoencoderKLCogVideoX: batches of latent frames
        return 10 * config.block_out_channels[0], 4 * temporal
    return 3, 1  # pixel shuffle: no network


def _stored_bytes(files) -> int:
    """Bytes of the tensors in safetensors ``files`` (read from their headers), floating point
    ones counted as float32."""
    import math

    from safetensors import safe_open

    total = 0
    for file in files:
        with safe_open(str(file), framework="pt") as handle:
            for name in handle.keys():
                tensor = handle.get_slice(name)
                dtype = tensor.get_dtype()
                size = 4 if dtype.startswith(("F", "BF")) else int("".join(filter(str.isdigit, dtype)) or 8) // 8
                total += math.prod(tensor.get_shape()) * size
    return total


def module_bytes(components) -> int:
    """Bytes of the parameters and buffers of the torch modules among ``components``, floating
    point ones counted as float32 (a half-precision copy is the runtime's size_factor of that)."""
    import torch

    modules = [m for m in components if isinstance(m, torch.nn.Module)]
    return sum(t.numel() * (4 if t.is_floating_point() else t.element_size())
               for m in modules for t in (*m.parameters(), *m.buffers()))


__all__ = ["DitSpec", "directory_spec", "dit_spec", "meta_components", "model_spec", "module_bytes", "plan", "plan_for_spec",
           "reference_plan", "resolve_options", "spec_of", "spec_plan"]
