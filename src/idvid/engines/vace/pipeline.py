"""Wan-VACE as an idvid engine: diffusers' ``WanVACEPipeline``, given each reference photo's
person cut out on white (:mod:`.reference`) and the prompt for the scene.

idvid adds what the bare pipeline lacks: preset resolution without downloads, the face checks
every engine makes (no face, several faces, too small), the request plan (grid, memory, what is
ignored) before any work, and the engine-neutral call and progress.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from diffusers import WanVACEPipeline

from idvid.engines.base import EngineInputs, FaceInput, reference_pixels
from idvid.engines.model_dir import check_model_dir, model_file_errors, published_source
from idvid.engines.output import VideoOutput, array_output
from idvid.engines.request import GenerationOptions, GenerationPlan
from idvid.engines.runtime import DiffusersRuntime
from idvid.engines.vace.limits import loaded_spec, plan_for_spec
from idvid.engines.vace.reference import subject_reference
from idvid.face.analyzer import as_face_list
from idvid.presets import VACE_DEFAULTS


class VacePipeline(WanVACEPipeline, DiffusersRuntime, EngineInputs):
    """``WanVACEPipeline`` whose call takes photos of a person; diffusers' loading, offloading,
    caches and LoRA all apply unchanged. ``generation_defaults``: the options a call leaves out."""

    engine_name = "Wan-VACE"

    def __init__(self, tokenizer, text_encoder, vae, scheduler, transformer=None, transformer_2=None,
                 boundary_ratio: float | None = None, generation_defaults: dict | None = None):
        super().__init__(tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, scheduler=scheduler,
                         transformer=transformer, transformer_2=transformer_2, boundary_ratio=boundary_ratio)
        self.register_to_config(generation_defaults=dict(generation_defaults or VACE_DEFAULTS))
        for module in self.components.values():  # built in code, they would keep dropout on
            if isinstance(module, torch.nn.Module):
                module.eval()

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs) -> VacePipeline:
        """A preset name (``wan2.1-vace-1.3b``, ``wan2.1-vace-14b``, ``tiny-vace``) or a local
        diffusers directory of Wan-VACE; safetensors weights only, nothing downloaded."""
        preset, source = published_source(str(pretrained_model_name_or_path), "vace", "Wan-VACE", kwargs)
        if preset is not None:
            return cls._tiny(preset)
        check_model_dir(source)
        with model_file_errors(source):
            return super().from_pretrained(source, use_safetensors=True, **kwargs)

    @classmethod
    def _tiny(cls, preset) -> VacePipeline:
        """Random components of the real classes; the same weights on every call."""
        from idvid.engines.vace.tiny import tiny_components

        with torch.random.fork_rng():
            torch.manual_seed(0)
            return cls(**tiny_components(), generation_defaults=preset.defaults)

    def _plan(self, options: GenerationOptions, output_type: str) -> GenerationPlan:
        spec = loaded_spec(self.transformer, self.vae, self.config.generation_defaults, self.components.values())
        return plan_for_spec(spec, options, self._runtime)

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
        progress: Callable[[int, int], None] | None = None,
    ) -> VideoOutput:
        """Generate a video of the person in ``faces`` (one to ``limits.MAX_REFERENCES`` photos of them:
        paths, (H, W, 3) uint8 arrays, or analyses made from files) doing what ``prompt`` says.
        ``identity_guidance_scale`` is accepted for the common call and ignored (said once)."""
        opt = self.check_request(prompt, GenerationOptions(num_frames, height, width, num_inference_steps,
                                                           guidance_scale, identity_guidance_scale, seed,
                                                           face_index, fps, negative_prompt), output_type,
                                 photos=len(as_face_list(faces)))
        photos, observations = self.references(faces, face_index)
        references = [subject_reference(reference_pixels(photo), observation, opt["height"], opt["width"])
                      for photo, observation in zip(photos, observations)]
        if generator is None:
            generator = torch.Generator("cpu").manual_seed(0 if seed is None else seed)

        from PIL import Image

        from idvid.video import to_uint8

        video = self.call_pipeline(
            super().__call__, opt["num_inference_steps"], progress,
            prompt=prompt, negative_prompt=negative_prompt or None,
            reference_images=[Image.fromarray(r) for r in references],
            height=opt["height"], width=opt["width"], num_frames=opt["num_frames"],
            num_inference_steps=opt["num_inference_steps"], guidance_scale=opt["guidance_scale"], generator=generator,
        )
        return array_output(to_uint8(video, value_range=(0, 1)), opt["fps"], output_type)
