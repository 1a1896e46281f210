"""FantasyID as an idvid engine: ConsisID's image-to-video pipeline (FantasyID's release copies it)
driving :class:`FantasyIDTransformer3DModel`, given the face as ConsisID reads it plus the face's
3D shape as a FLAME point cloud.

What differs from the authors' release: no pickles or OpenMesh at run time (the mesh hierarchy is a
converted ``mesh_sampling.npz``), the face found and checked by idvid's face stack, every model on
the CPU or the GPU, the face tokens computed once per video instead of at every step, and
diffusers' First Block Cache applies (the face attention is a hook on the blocks it follows).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from idvid.engines.base import FaceInput
from idvid.engines.consisid.face_encoder import FaceEncoder, check_files
from idvid.engines.consisid.pipeline import FACE_ENCODER_DIR, ConsisIDEnginePipeline
from idvid.engines.fantasyid.face_prior import NEEDS_DECA_FLAME, FacePrior, has_files, mesh_box_points
from idvid.engines.fantasyid.limits import face_prior_dir, loaded_spec, plan_for_spec, transformer_folder
from idvid.engines.fantasyid.mesh_sampling import MeshSampling
from idvid.engines.fantasyid.transformer import FantasyIDTransformer3DModel
from idvid.engines.model_dir import check_model_dir, model_file_errors, published_source
from idvid.engines.output import VideoOutput
from idvid.engines.request import GenerationOptions, GenerationPlan
from idvid.errors import ConfigError, ModelFileError

logger = logging.getLogger("idvid")

MESH_SAMPLING_FILE = "mesh_sampling.npz"
FaceMesh = str | Path | np.ndarray


class FantasyIDEnginePipeline(ConsisIDEnginePipeline):
    """``ConsisIDPipeline`` with FantasyID's transformer; its call also takes ``face_mesh``."""

    engine_name = "FantasyID"
    cache_unsupported = None
    face_prior: FacePrior | None = None  # DECA + FLAME; None: the call needs ``face_mesh``

    def __init__(self, tokenizer, text_encoder, vae, transformer, scheduler, generation_defaults: dict | None = None,
                 weights_trained: bool = False):
        """``weights_trained``: the face modules were trained by ``idvid train`` after the release."""
        super().__init__(tokenizer, text_encoder, vae, transformer, scheduler, generation_defaults)
        self.register_to_config(weights_trained=weights_trained)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs) -> FantasyIDEnginePipeline:
        """A preset name (``fantasyid``, ``tiny-fantasyid``) or the released folder as downloaded:
        ``transformer_ema/`` (else ``transformer/``), ``face_encoder/``, the CogVideoX-5B-I2V VAE,
        T5 and scheduler; plus the converted ``mesh_sampling.npz`` (see ``idvid convert``)."""
        preset, source = published_source(str(pretrained_model_name_or_path), "fantasyid", "FantasyID", kwargs)
        if preset is not None:
            return cls._tiny(preset)
        index = check_model_dir(source, replaced={"transformer": transformer_folder(Path(source))})
        check_files(Path(source) / FACE_ENCODER_DIR)  # before gigabytes load
        mesh = load_mesh_sampling(source)
        with model_file_errors(source):
            # a folder idvid saved keeps its own defaults; the release takes the preset's (or ConsisID's)
            defaults = index.get("generation_defaults") or kwargs.get("generation_defaults")
            pipeline = cls(**load_components(Path(source), kwargs.get("torch_dtype")), generation_defaults=defaults,
                           weights_trained=index.get("weights_trained", False))
        pipeline.transformer.set_mesh(mesh)
        pipeline.face_encoder = FaceEncoder.from_dir(Path(source) / FACE_ENCODER_DIR)
        prior = face_prior_dir(Path(source))
        pipeline.face_prior = FacePrior.from_dir(prior) if has_files(prior) else None
        return pipeline

    @classmethod
    def _tiny(cls, preset) -> FantasyIDEnginePipeline:
        from idvid.engines.consisid.tiny import tiny_face_encoder
        from idvid.engines.fantasyid.tiny import tiny_components, tiny_face_prior

        with torch.random.fork_rng():
            torch.manual_seed(0)
            pipeline = cls(**tiny_components(), generation_defaults=preset.defaults)
            pipeline.face_encoder = tiny_face_encoder()
            pipeline.face_prior = tiny_face_prior()
        return pipeline

    def save_pretrained(self, save_directory, **kwargs) -> None:
        """ConsisID's layout plus ``face_prior/``: the mesh hierarchy, and DECA and FLAME if loaded."""
        super().save_pretrained(save_directory, **kwargs)
        prior = Path(save_directory) / "face_prior"
        self.transformer.vertex_spiral_net.mesh.save(prior / MESH_SAMPLING_FILE, overwrite=True)
        if self.face_prior is not None:
            self.face_prior.save(prior)

    def _plan(self, options: GenerationOptions, output_type: str) -> GenerationPlan:
        from idvid.engines.dit.limits import module_bytes

        prior = 0 if self.face_prior is None else module_bytes([self.face_prior.deca, self.face_prior.flame])
        spec = loaded_spec(self.transformer, self.vae, self.config.generation_defaults, self.components.values(),
                           self.face_encoder.weight_bytes() + prior)
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
        face_mesh: FaceMesh | None = None,
    ) -> VideoOutput:
        """Generate a video of the person in ``faces`` (one photo) doing what ``prompt`` says.
        ``face_mesh``: their FLAME point cloud, a ``.ply`` path or a (V, 3) array; left out, DECA
        and FLAME compute it from the photo.
        ``identity_guidance_scale`` is accepted for the common call and ignored (said once)."""
        if face_mesh is None and self.face_prior is None:
            raise ConfigError(NEEDS_DECA_FLAME.format(folder="<FantasyID folder>/face_prior"))
        return self._generate(prompt, faces, GenerationOptions(num_frames, height, width, num_inference_steps,
                                                               guidance_scale, identity_guidance_scale, seed,
                                                               face_index, fps, negative_prompt),
                              generator, output_type, progress, face_mesh=face_mesh)

    @contextmanager
    def _face_inputs(self, face, photo: np.ndarray, observation, face_mesh: FaceMesh | None = None):
        """The aligned face as the first frame; the face tokens (2D features and the 3D shape) set
        on the transformer's face attention for the whole call."""
        device = self._execution_device
        vertices = torch.from_numpy(self.face_vertices(face_mesh, photo, observation))[None].to(device)
        tokens = self.transformer.face_tokens(face.id_cond.to(device), [h.to(device) for h in face.id_vit_hidden],
                                              vertices)
        # ConsisID's loop names no cache context; CogVideoX's names one for its batched CFG forward
        with self.transformer.face_context(tokens), self.transformer.cache_context("cond_uncond"):
            yield face.crop, {}

    def face_vertices(self, face_mesh: FaceMesh | None, photo: np.ndarray, observation) -> np.ndarray:
        """The (V, 3) float32 point cloud: ``face_mesh`` when given, else DECA and FLAME on the photo."""
        from idvid.engines.fantasyid.point_cloud import read_point_cloud

        if face_mesh is None:
            return self.face_prior.vertices(photo, mesh_box_points(observation.vertices))
        vertices = face_mesh if isinstance(face_mesh, np.ndarray) else read_point_cloud(face_mesh)
        expected = self.transformer.vertex_spiral_net.mesh.spirals[0].shape[0]
        if vertices.shape != (expected, 3):
            raise ConfigError(f"the face mesh has {len(vertices)} points; this model's mesh has {expected} "
                              "(FLAME: 5023)")
        return np.asarray(vertices, np.float32)


def load_components(source: Path, torch_dtype=None) -> dict:
    """The release's components by their known classes (its model index names the authors' own
    code, which idvid does not import)."""
    from diffusers import AutoencoderKLCogVideoX, CogVideoXDPMScheduler
    from transformers import AutoTokenizer, T5EncoderModel

    return dict(
        transformer=load_transformer(source, torch_dtype),
        vae=AutoencoderKLCogVideoX.from_pretrained(source, subfolder="vae", torch_dtype=torch_dtype,
                                                   use_safetensors=True),
        text_encoder=T5EncoderModel.from_pretrained(source, subfolder="text_encoder", torch_dtype=torch_dtype,
                                                    use_safetensors=True),
        tokenizer=AutoTokenizer.from_pretrained(source, subfolder="tokenizer"),
        # the release samples with CogVideoX's DPM scheduler, whatever its folder names
        scheduler=CogVideoXDPMScheduler.from_pretrained(source, subfolder="scheduler"),
    )


def load_transformer(source: Path, torch_dtype=None) -> FantasyIDTransformer3DModel:
    """The released transformer (``transformer_ema`` when present), every checkpoint key used;
    logs the keys the checkpoint lacks or adds, and refuses to run with missing ones."""
    subfolder = transformer_folder(source)
    transformer, info = FantasyIDTransformer3DModel.from_pretrained(
        source, subfolder=subfolder, torch_dtype=torch_dtype, output_loading_info=True, use_safetensors=True)
    missing, unexpected = info["missing_keys"], info["unexpected_keys"]
    logger.info("FantasyID %s: %d missing keys %s, %d unexpected keys %s", subfolder, len(missing), missing,
                len(unexpected), unexpected)
    if missing:
        raise ModelFileError(f"{source / subfolder} lacks {len(missing)} of FantasyID's weights "
                             f"(first: {', '.join(missing[:3])})")
    return transformer


def load_mesh_sampling(source: str | Path) -> MeshSampling:
    folder = face_prior_dir(Path(source))
    path = folder / MESH_SAMPLING_FILE
    if not path.is_file():
        raise ModelFileError(f"FantasyID's mesh hierarchy is missing ({path}): convert the release's "
                             f"assets/transform.pkl once with: idvid convert --mesh-sampling transform.pkl --out {folder}")
    return MeshSampling.load(path)
