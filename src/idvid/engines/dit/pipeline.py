"""IDVideoPipeline: identity-preserving text-to-video on a diffusers video DiT.

Flow: reference photos -> face analysis (frozen) -> FaceKnowledgeEncoder -> K identity tokens
(once per video) -> sampling loop with text + identity guidance, the adapter's hooks injecting
the tokens in every block -> VAE decode -> frames.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from importlib import import_module
from pathlib import Path

import torch
from diffusers import DiffusionPipeline
from diffusers.callbacks import MultiPipelineCallbacks, PipelineCallback
from diffusers.utils.torch_utils import randn_tensor

from idvid.engines.base import EngineInputs, FaceInput, reference_pixels
from idvid.engines.dit import limits as dit_limits
from idvid.engines.dit.face_inputs import face_tensors
from idvid.engines.dit.guidance import combine, guidance_rows
from idvid.engines.model_dir import check_model_dir, model_file_errors
from idvid.engines.output import VideoOutput, array_output
from idvid.engines.request import GenerationOptions, GenerationPlan
from idvid.engines.runtime import DiffusersRuntime
from idvid.errors import ConfigError, GenerationError
from idvid.face.observation import FaceObservation
from idvid.models.backbones import FAMILIES, count_tokens, encode_text, family_of
from idvid.models.face_knowledge import FaceKnowledgeEncoder
from idvid.models.injection import IdentityInjector, find_blocks
from idvid.models.pixel_autoencoder import PixelShuffleAutoencoder  # noqa: F401 - loadable as a saved component
from idvid.presets import FAMILY_DEFAULTS, PRESETS, Preset, get_preset, preset_dir

logger = logging.getLogger("idvid")

# A small face encoder for the random `tiny` presets; real presets use the class defaults.
TINY_FACE_ENCODER = dict(
    hidden_dim=32, num_tokens=4, num_heads=2, fusion_layers=1, crop_size=32, appearance_grid=4, appearance_width=32,
    appearance_layers=1, geometry_width=32, geometry_layers=1, num_geometry_tokens=4, encoder_heads=2,
)


class IDVideoPipeline(DiffusionPipeline, DiffusersRuntime, EngineInputs):
    """Text + reference faces -> video, on a CogVideoX or Wan backbone with an identity adapter.

    Components: ``transformer``, ``vae``, ``text_encoder``, ``tokenizer``, ``scheduler`` (the
    backbone's own), ``face_encoder`` (FaceKnowledgeEncoder), ``id_adapter`` (IdentityInjector)
    and optionally ``image_encoder``, a frozen CLIP-like vision tower for appearance tokens.
    Two-expert backbones (Wan 2.2 A14B) add ``transformer_2`` for the low-noise steps below
    ``boundary_ratio``, with its own ``id_adapter_2``; the face encoder is shared.
    """

    # The identity adapters are not in the chain: the transformer calls them from inside its blocks
    # (like a ControlNet), so model offload moves each to the device on its first call and back
    # in ``maybe_free_model_hooks``.
    model_cpu_offload_seq = "text_encoder->image_encoder->face_encoder->transformer->transformer_2->vae"
    _optional_components = ["image_encoder", "transformer_2", "id_adapter_2"]
    _callback_tensor_inputs = ["latents"]
    engine_name = "the DiT engine"
    output_types = ("np", "stream", "latent")

    def __init__(
        self,
        transformer,
        vae,
        text_encoder,
        tokenizer,
        scheduler,
        face_encoder: FaceKnowledgeEncoder,
        id_adapter: IdentityInjector,
        image_encoder=None,
        transformer_2=None,
        id_adapter_2: IdentityInjector | None = None,
        boundary_ratio: float | None = None,
        generation_defaults: dict | None = None,
        max_text_length: int | None = None,
        weights_trained: bool = False,
    ):
        super().__init__()
        if (transformer_2 is None) != (id_adapter_2 is None) or (transformer_2 is None) != (boundary_ratio is None):
            raise ValueError("a second expert needs transformer_2, id_adapter_2 and boundary_ratio together")
        self.register_modules(
            transformer=transformer, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
            scheduler=scheduler, face_encoder=face_encoder, id_adapter=id_adapter, image_encoder=image_encoder,
            transformer_2=transformer_2, id_adapter_2=id_adapter_2,
        )
        self.family = family_of(transformer)
        # Inference only: components built in code (not loaded) would otherwise keep dropout on.
        for module in self.components.values():
            if isinstance(module, torch.nn.Module):
                module.eval()
        self.register_to_config(
            boundary_ratio=boundary_ratio,
            generation_defaults=dict(generation_defaults or {}),
            max_text_length=max_text_length or self.family.default_max_text_length,
            weights_trained=weights_trained,
        )
        self._current_timestep = None  # read by caches that act by timestep (Pyramid Attention Broadcast)
        # Registered now, before any cache a user enables, so the cache wraps the identity hooks.
        self._injections = [adapter.register(transformer) for transformer, adapter in self._expert_modules()]

    # ------------------------------------------------------------------ loading

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs) -> "IDVideoPipeline":
        """Load a preset name (see ``idvid.presets.PRESETS``) or a local diffusers-format directory.

        A directory saved by this pipeline loads whole. A plain backbone directory (e.g. a
        ``WanPipeline`` or ``CogVideoXPipeline`` checkout) loads with a fresh, untrained adapter.
        Only safetensors weights are accepted; presets of other engines load with
        ``idvid.load_engine``.
        """
        source = str(pretrained_model_name_or_path)
        if source in PRESETS and PRESETS[source].engine != "dit" and not Path(source).is_dir():
            raise ConfigError(f"{source} is a {PRESETS[source].engine} model, not a DiT pipeline; "
                                 "load it with idvid.load_engine")
        if source in PRESETS and not Path(source).is_dir():
            pipe = cls._from_preset(source, **kwargs)
        elif "face_encoder" not in check_model_dir(source):
            pipe = cls._from_backbone_dir(Path(source), generation_defaults=None, **kwargs)
        else:
            with model_file_errors(source):
                pipe = super().from_pretrained(source, use_safetensors=True, **kwargs)
        if not pipe.config.weights_trained:
            logger.warning(
                "%s has untrained identity weights%s: its videos show the plumbing, not a person",
                source, " and a random backbone" if source in PRESETS and PRESETS[source].repo_id is None else "",
            )
        return pipe

    @classmethod
    def _from_preset(cls, name: str, **kwargs) -> "IDVideoPipeline":
        preset = get_preset(name)
        if preset.repo_id is None:
            return cls._tiny(preset)
        path = preset_dir(preset)
        index = check_model_dir(path)
        if "face_encoder" in index:
            with model_file_errors(path):
                return super().from_pretrained(path, use_safetensors=True, **kwargs)
        return cls._from_backbone_dir(path, generation_defaults=preset.defaults, **kwargs)

    @classmethod
    def _tiny(cls, preset: Preset) -> "IDVideoPipeline":
        """Random components of the real classes; the same weights on every call."""
        with torch.random.fork_rng():
            torch.manual_seed(0)
            return cls(**cls.builtin_components(preset), generation_defaults=preset.defaults)

    @staticmethod
    def builtin_components(preset: Preset, with_text_encoder: bool = True) -> dict:
        """A built-in preset's random components: its builder's, or the family's tiny ones with a
        tiny face encoder and adapter. ``with_text_encoder=False`` lets a builder skip a
        pretrained text encoder (a memory plan builds on the meta device)."""
        if preset.builder is not None:
            module, function = preset.builder.split(":")
            return getattr(import_module(module), function)(with_text_encoder=with_text_encoder)
        components = FAMILIES[preset.family].tiny_components(image_to_video=preset.image_to_video)
        face_encoder = FaceKnowledgeEncoder(**TINY_FACE_ENCODER)
        id_adapter = IdentityInjector.for_transformer(
            components["transformer"], identity_dim=face_encoder.config.hidden_dim, inner_dim=16, num_heads=2
        )
        return dict(components, face_encoder=face_encoder, id_adapter=id_adapter, max_text_length=256)

    @classmethod
    def _from_backbone_dir(cls, path: Path, generation_defaults: dict | None, **kwargs) -> "IDVideoPipeline":
        """A plain diffusers backbone checkout + a fresh adapter; None takes the family's defaults."""
        with model_file_errors(path):
            base = DiffusionPipeline.from_pretrained(path, use_safetensors=True, **kwargs)
        components = {k: base.components[k] for k in ("transformer", "vae", "text_encoder", "tokenizer", "scheduler")}
        if generation_defaults is None:
            generation_defaults = FAMILY_DEFAULTS[family_of(components["transformer"]).name]
        face_encoder = FaceKnowledgeEncoder()
        identity_dim = face_encoder.config.hidden_dim
        components["id_adapter"] = IdentityInjector.for_transformer(components["transformer"], identity_dim=identity_dim)
        if base.components.get("transformer_2") is not None:  # Wan 2.2 A14B: a low-noise expert
            components["transformer_2"] = base.components["transformer_2"]
            components["id_adapter_2"] = IdentityInjector.for_transformer(components["transformer_2"],
                                                                          identity_dim=identity_dim)
            components["boundary_ratio"] = base.config.boundary_ratio
        pipe = cls(**components, face_encoder=face_encoder, generation_defaults=generation_defaults)
        dtype = components["transformer"].dtype
        if dtype != torch.float32:  # the fresh adapter follows a half-precision backbone
            for module in (pipe.face_encoder, pipe.id_adapter, pipe.id_adapter_2):
                if module is not None:
                    module.to(dtype)
        return pipe

    @property
    def current_timestep(self) -> torch.Tensor | None:
        """The denoising step's timestep while sampling, else None (as in diffusers' pipelines)."""
        return self._current_timestep

    def compile_blocks(self, **compile_options) -> None:
        """Regional ``torch.compile``: each transformer block of every expert, identity hook
        included, compiled once and reused by its repeats (diffusers' ``compile_repeated_blocks``,
        for CogVideoX too, which does not declare its repeated blocks)."""
        for transformer, _ in self._expert_modules():
            for block in find_blocks(transformer):
                block.compile(**compile_options)

    # ------------------------------------------------------------------ conditioning

    @torch.no_grad()
    def encode_faces(self, observations: Sequence[FaceObservation]) -> torch.Tensor:
        """Observations of one person -> identity tokens (1, K, D)."""
        encoder = self.face_encoder
        inputs = face_tensors(observations, encoder.config.crop_size)
        inputs = {k: v.to(self._execution_device) for k, v in inputs.items()}
        crops = inputs.pop("crops")
        if self.image_encoder is not None:
            inputs["appearance_features"] = self._vision_features(crops)
        else:
            inputs["crops"] = crops.to(encoder.dtype)
        inputs["embeddings"] = inputs["embeddings"].to(encoder.dtype)
        inputs["vertices"] = inputs["vertices"].to(encoder.dtype)
        return encoder(**inputs)

    def _vision_features(self, crops: torch.Tensor) -> torch.Tensor:
        """crops (1, V, 3, S, S) in [-1, 1] -> vision-tower hidden states (1, V, T, D)."""
        tower = self.image_encoder
        size = tower.config.image_size
        pixels = torch.nn.functional.interpolate(crops[0], size=(size, size), mode="bilinear", align_corners=False)
        # CLIP's normalisation, from [-1, 1] pixels.
        mean = pixels.new_tensor([0.48145466, 0.4578275, 0.40821073]).view(1, 3, 1, 1)
        std = pixels.new_tensor([0.26862954, 0.26130258, 0.27577711]).view(1, 3, 1, 1)
        pixels = ((pixels + 1) / 2 - mean) / std
        return tower(pixel_values=pixels.to(tower.dtype)).last_hidden_state[None]

    @torch.no_grad()
    def encode_prompt(self, prompts: list[str]) -> torch.Tensor:
        """prompts -> text embeddings (B, L, D); warns when a prompt is cut to fit the encoder."""
        max_length = self.config.max_text_length
        distinct = list(dict.fromkeys(prompts))  # guidance rows repeat the prompt: encode it once
        for prompt in distinct:
            needed = count_tokens(self.tokenizer, prompt)
            if needed > max_length:
                logger.warning(
                    "the prompt is %d tokens long; the text encoder reads the first %d and ignores the rest",
                    needed, max_length,
                )
        embeds = encode_text(self.text_encoder, self.tokenizer, distinct, max_length, self.family.zero_text_padding)
        return embeds[[distinct.index(p) for p in prompts]]

    @staticmethod
    def _reference_image(face: FaceInput, height: int, width: int) -> torch.Tensor:
        """The first reference photo, centre-cropped to the video's aspect, as (1, 3, H, W) in [-1, 1]."""
        image = torch.tensor(reference_pixels(face)).permute(2, 0, 1).float()[None] / 127.5 - 1
        _, _, h, w = image.shape
        scale = max(height / h, width / w)
        size = (max(height, math.ceil(h * scale)), max(width, math.ceil(w * scale)))  # never a pixel short
        image = torch.nn.functional.interpolate(image, size=size, mode="bilinear", antialias=True)
        top = (image.shape[2] - height) // 2
        left = (image.shape[3] - width) // 2
        return image[:, :, top : top + height, left : left + width]

    # ------------------------------------------------------------------ sampling

    def _expert_modules(self) -> list[tuple]:
        """(transformer, adapter) of each expert, high-noise first."""
        pairs = [(self.transformer, self.id_adapter)]
        if self.transformer_2 is not None:
            pairs.append((self.transformer_2, self.id_adapter_2))
        return pairs

    def _expert_at(self, t: torch.Tensor) -> int:
        """Wan 2.2's rule: the first expert at t >= boundary, the second below it."""
        boundary = self.config.boundary_ratio
        return int(boundary is not None and t < boundary * self.scheduler.config.num_train_timesteps)

    def _plan(self, options: GenerationOptions, output_type: str) -> GenerationPlan:
        """This loaded model's plan for ``options`` (defaults, grid and memory)."""
        components = self.components.values()
        spec = dit_limits.spec_of(self.transformer, self.vae, self.config.generation_defaults,
                                  dit_limits.module_bytes(components))
        return dit_limits.plan_for_spec(spec, options, self._runtime)

    @torch.no_grad()
    def __call__(
        self,
        prompt: str,
        faces: FaceInput | Sequence[FaceInput],
        negative_prompt: str = "",
        num_frames: int | None = None,
        height: int | None = None,
        width: int | None = None,
        num_inference_steps: int | None = None,
        guidance_scale: float | None = None,
        identity_guidance_scale: float | None = None,
        seed: int | None = None,
        generator: torch.Generator | None = None,
        face_index: int | None = None,
        fps: float | None = None,
        output_type: str = "np",
        callback_on_step_end: Callable | PipelineCallback | MultiPipelineCallbacks | None = None,
        callback_on_step_end_tensor_inputs: Sequence[str] = ("latents",),
        progress: Callable[[int, int], None] | None = None,
    ) -> VideoOutput:
        """Generate a video of the person in ``faces`` doing what ``prompt`` says.

        Args:
            prompt: what happens in the video; must not be empty.
            faces: one photo or several photos of the same person (paths, (H, W, 3) uint8
                arrays, or FaceObservations).
            num_frames, height, width: checked against the VAE's factors; None takes the model's default.
            guidance_scale: classifier-free guidance on the text.
            identity_guidance_scale: guidance on the identity, on top of the text.
            seed: makes the output reproducible (the noise is drawn on the CPU).
            output_type: "np" for uint8 frames, "stream" for the same as a FrameStream, "latent"
                for the final latents (B, C, f, h, w).
            callback_on_step_end: diffusers' step callback, called as ``fn(pipe, step_index, timestep,
                callback_kwargs)`` after each denoising step; the dict it returns may replace the
                latents. ``callback_on_step_end_tensor_inputs`` names what callback_kwargs holds.
            progress: called as ``fn(steps_done, total_steps)`` after each denoising step.

        Returns:
            VideoOutput with frames (T, H, W, 3) uint8 and fps.
        """
        # 1. Check inputs before any heavy work.
        opt = self.check_request(prompt, GenerationOptions(num_frames, height, width, num_inference_steps,
                                                           guidance_scale, identity_guidance_scale, seed,
                                                           face_index, fps, negative_prompt), output_type)
        if isinstance(callback_on_step_end, (PipelineCallback, MultiPipelineCallbacks)):
            callback_on_step_end_tensor_inputs = callback_on_step_end.tensor_inputs
        unknown = set(callback_on_step_end_tensor_inputs) - set(self._callback_tensor_inputs)
        if unknown:
            raise GenerationError(f"callback_on_step_end_tensor_inputs may name {self._callback_tensor_inputs}, "
                                  f"not {sorted(unknown)}")
        geometry = self.family.geometry(self.vae, self.transformer)
        device = self._execution_device
        if generator is None:
            generator = torch.Generator("cpu").manual_seed(0 if seed is None else seed)

        # 2. Faces are analysed (and refused) first; then the models in offload order, so that
        # under model offload each one leaves the GPU when the next one runs.
        face_list, observations = self.references(faces, face_index)
        rows = guidance_rows(opt["guidance_scale"], opt["identity_guidance_scale"])
        text = self.encode_prompt([prompt if r.text else negative_prompt for r in rows])  # one per guidance row
        identity = self.encode_faces(observations)  # once for the whole video
        identity_weight = torch.tensor([float(r.identity) for r in rows], device=device)

        # 3. Noise, and the image condition for image-to-video backbones.
        latent_shape = (1, self.family.latent_channels(self.vae), geometry.latent_frames(opt["num_frames"]),
                        opt["height"] // geometry.spatial, opt["width"] // geometry.spatial)
        condition = None
        if self.family.condition_channels(self.vae, self.transformer) > 0:
            image = self._reference_image(face_list[0], opt["height"], opt["width"])
            condition = self.family.image_condition(self.vae, image.to(device, self.vae.dtype), latent_shape[2],
                                                    generator=None)
            condition = condition.expand(len(rows), -1, -1, -1, -1)
        self.scheduler.set_timesteps(opt["num_inference_steps"], device=device)
        latents = randn_tensor(latent_shape, generator=generator, device=torch.device("cpu"), dtype=torch.float32)
        latents = latents.to(device) * self.scheduler.init_noise_sigma

        # 4. Denoise and decode.
        try:
            latents = self._denoise(latents, text, condition, identity, identity_weight, rows, opt,
                                    callback_on_step_end, callback_on_step_end_tensor_inputs, progress)
            video = latents if output_type == "latent" else self.family.decode(self.vae, latents)  # (1, 3, F, H, W)
        finally:
            # Also after an error or Ctrl-C: offload every model again and reset the caches' state
            # (diffusers' contract), so the next call does not start from this one's residuals.
            self._current_timestep = None
            self.maybe_free_model_hooks()
        if output_type == "latent":
            return VideoOutput(frames=latents, fps=opt["fps"])
        from idvid.video import to_uint8

        frames = to_uint8(video[0].permute(1, 0, 2, 3).float().cpu().numpy(), value_range=(-1, 1))
        return array_output(frames, opt["fps"], output_type)

    def _denoise(self, latents, text, condition, identity, identity_weight, rows, opt,
                 callback_on_step_end, callback_tensor_inputs, progress) -> torch.Tensor:
        """The sampling loop. The step's expert injects the identity in every block it executes;
        all guidance rows share one batch, so one cache context holds them."""
        timesteps = self.scheduler.timesteps
        experts = self._expert_modules()
        with self.progress_bar(total=len(timesteps)) as bar:
            for step, t in enumerate(timesteps):
                self._current_timestep = t
                expert = self._expert_at(t)
                transformer = experts[expert][0]
                model_input = self.scheduler.scale_model_input(latents, t).expand(len(rows), -1, -1, -1, -1)
                with self._injections[expert].use(identity, identity_weight), transformer.cache_context(
                        "guidance_rows", step_index=step, num_inference_steps=len(timesteps), timestep=t):
                    prediction = self.family.predict(transformer, model_input, t.expand(len(rows)), text, condition)
                guided = combine(prediction.float(), rows, opt["guidance_scale"], opt["identity_guidance_scale"])
                latents = self.scheduler.step(guided, t, latents, return_dict=False)[0]
                if callback_on_step_end is not None:
                    available = {"latents": latents}  # what _callback_tensor_inputs names
                    tensors = {name: available[name] for name in callback_tensor_inputs}
                    latents = callback_on_step_end(self, step, t, tensors).pop("latents", latents)
                bar.update()
                if progress is not None:
                    progress(step + 1, len(timesteps))
        return latents
