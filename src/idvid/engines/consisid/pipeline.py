"""ConsisID as an idvid engine: diffusers' ``ConsisIDPipeline``, given the face conditioning
of :mod:`.face_encoder` for the person in the photo.

idvid adds what the bare pipeline lacks: preset resolution without downloads, the face checks
every engine makes (no face, several faces, too small), face conditioning on the CPU or the GPU
with no insightface or facexlib, the request plan (grid, memory, what is ignored) before any
work, and the engine-neutral call and progress.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import contextmanager
from pathlib import Path

import torch
from diffusers import ConsisIDPipeline

from idvid.engines.base import EngineInputs, FaceInput, reference_pixels
from idvid.engines.consisid.face_encoder import FaceCondition, FaceEncoder, check_files
from idvid.engines.consisid.limits import loaded_spec, plan_for_spec
from idvid.engines.model_dir import check_model_dir, model_file_errors, published_source
from idvid.engines.output import VideoOutput, array_output
from idvid.engines.request import GenerationOptions, GenerationPlan
from idvid.engines.runtime import DiffusersRuntime
from idvid.face.analyzer import as_face_list
from idvid.presets import CONSISID_DEFAULTS

FACE_ENCODER_DIR = "face_encoder"


class ConsisIDEnginePipeline(ConsisIDPipeline, DiffusersRuntime, EngineInputs):
    """``ConsisIDPipeline`` whose call takes a photo of a person; diffusers' loading, offloading
    and caches apply unchanged. ``face_encoder`` reads the face (kept on the CPU between calls);
    ``generation_defaults``: the options a call leaves out."""

    engine_name = "ConsisID"
    cache_unsupported = ("its face cross-attention runs between the transformer blocks, where a cached "
                         "step would add it twice")

    def __init__(self, tokenizer, text_encoder, vae, transformer, scheduler, generation_defaults: dict | None = None):
        super().__init__(tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, transformer=transformer,
                         scheduler=scheduler)
        self.register_to_config(generation_defaults=dict(generation_defaults or CONSISID_DEFAULTS))
        self.face_encoder: FaceEncoder | None = None
        for module in self.components.values():  # built in code, they would keep dropout on
            if isinstance(module, torch.nn.Module):
                module.eval()

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs) -> ConsisIDEnginePipeline:
        """A preset name (``consisid``, ``tiny-consisid``) or a local ConsisID directory (with its
        ``face_encoder/`` folder); safetensors for the diffusers components, nothing downloaded."""
        preset, source = published_source(str(pretrained_model_name_or_path), "consisid", "ConsisID", kwargs)
        if preset is not None:
            return cls._tiny(preset)
        check_model_dir(source)
        check_files(Path(source) / FACE_ENCODER_DIR)  # before gigabytes load
        with model_file_errors(source):
            pipeline = super().from_pretrained(source, use_safetensors=True, **kwargs)
        pipeline.face_encoder = FaceEncoder.from_dir(Path(source) / FACE_ENCODER_DIR)
        return pipeline

    @classmethod
    def _tiny(cls, preset) -> ConsisIDEnginePipeline:
        """Random components of the real classes; the same weights on every call."""
        from idvid.engines.consisid.tiny import tiny_components, tiny_face_encoder

        with torch.random.fork_rng():
            torch.manual_seed(0)
            pipeline = cls(**tiny_components(), generation_defaults=preset.defaults)
            pipeline.face_encoder = tiny_face_encoder()
        return pipeline

    def save_pretrained(self, save_directory, **kwargs) -> None:
        """diffusers' layout plus ``face_encoder/`` as the published checkpoint keeps it."""
        super().save_pretrained(save_directory, **kwargs)
        self.face_encoder.save(Path(save_directory) / FACE_ENCODER_DIR)

    def _plan(self, options: GenerationOptions, output_type: str) -> GenerationPlan:
        spec = loaded_spec(self.transformer, self.vae, self.config.generation_defaults, self.components.values(),
                           self.face_encoder.weight_bytes())
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
        """Generate a video of the person in ``faces`` (one photo: a path, an (H, W, 3) uint8
        array, or an analysis made from a file) doing what ``prompt`` says.
        ``identity_guidance_scale`` is accepted for the common call and ignored (said once)."""
        return self._generate(prompt, faces, GenerationOptions(num_frames, height, width, num_inference_steps,
                                                               guidance_scale, identity_guidance_scale, seed,
                                                               face_index, fps, negative_prompt),
                              generator, output_type, progress)

    def _generate(self, prompt: str, faces, options: GenerationOptions, generator: torch.Generator | None,
                  output_type: str, progress, **inputs) -> VideoOutput:
        """The call: the request checked, the face read, the video made with :meth:`_face_inputs`'s
        first frame and pipeline arguments."""
        opt = self.check_request(prompt, options, output_type, photos=len(as_face_list(faces)))
        photos, observations = self.references(faces, options.face_index)
        photo = reference_pixels(photos[0])
        face = self.face_encoder.condition(photo, observations[0].detection.landmarks, self._execution_device,
                                           self.transformer.dtype)
        if generator is None:
            generator = torch.Generator("cpu").manual_seed(0 if options.seed is None else options.seed)

        from PIL import Image

        from idvid.video import to_uint8

        with self._face_inputs(face, photo, observations[0], **inputs) as (first_frame, face_kwargs):
            video = self.call_pipeline(
                super().__call__, opt["num_inference_steps"], progress,
                image=Image.fromarray(first_frame), prompt=prompt, negative_prompt=options.negative_prompt or None,
                height=opt["height"], width=opt["width"], num_frames=opt["num_frames"],
                num_inference_steps=opt["num_inference_steps"], guidance_scale=opt["guidance_scale"],
                generator=generator, **face_kwargs,
            )
        return array_output(to_uint8(video, value_range=(0, 1)), opt["fps"], output_type)

    @contextmanager
    def _face_inputs(self, face: FaceCondition, photo, observation):
        """(first frame, pipeline arguments) for one face: ConsisID's face alone on white, and its
        ArcFace and EVA-CLIP features."""
        device = self._execution_device
        yield face.image, dict(
            id_cond=face.id_cond.to(device), id_vit_hidden=[h.to(device) for h in face.id_vit_hidden],
            kps_cond=face.landmarks,  # only a checkpoint trained with keypoints (config is_kps) reads them
        )
