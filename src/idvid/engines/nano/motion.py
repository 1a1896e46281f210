"""MotionGenerator: prompt + reference head pose -> a ControlTrack for the `nano` renderer.

Holds the MotionDiT, a DDIM scheduler and the frozen MiniLM text encoder. A saved generator is
a directory::

    motion_generator.json      class name, components, sampling defaults
    motion_model/              MotionDiT config.json + diffusion_pytorch_model.safetensors
    scheduler/                 scheduler_config.json

The model samples :data:`~idvid.engines.nano.motion_programs.MODEL_FRAMES` frames spanning a nominal
6 s; :func:`resample_track` stretches them to any frame count and keeps every blink (a blink
closes the eyes on at least one output frame, even when downsampling).
"""

from __future__ import annotations

import inspect
import json
import logging
import os
from collections.abc import Callable, Sequence
from importlib.resources import files
from pathlib import Path

import numpy as np
import torch
from diffusers import DDIMScheduler
from diffusers.utils.torch_utils import randn_tensor

from idvid.atomic import staged_folder
from idvid.engines.model_dir import check_model_dir
from idvid.engines.nano.limits import INDEX_FILE
from idvid.engines.nano.motion_dit import MotionDiT
from idvid.errors import GenerationError, ModelFileError
from idvid.models.text_encoder import TextEncoder, get_text_encoder
from idvid.render.controls import CONTROL_NAMES, ControlTrack, clamp_controls

logger = logging.getLogger("idvid")

DEFAULTS = {"num_inference_steps": 25, "guidance_scale": 2.5}
_BLINK = CONTROL_NAMES.index("blink")


def shipped_motion_dir() -> Path:
    """The trained generator that ships inside the package (``idvid/assets/nano``)."""
    return Path(str(files("idvid") / "assets" / "nano"))


def resample_track(values: np.ndarray, num_frames: int) -> np.ndarray:
    """(T, C) controls -> (num_frames, C), linear in time, first and last frames kept.

    The blink column also keeps its peaks: each source frame's blink value reaches at least the
    output frame nearest in time, so a one-frame blink survives down- and upsampling.
    """
    frames = values.shape[0]
    source = np.linspace(0.0, 1.0, frames)
    target = np.linspace(0.0, 1.0, num_frames)
    out = np.stack([np.interp(target, source, column) for column in values.T], axis=1)
    nearest = np.rint(source * (num_frames - 1)).astype(int) if num_frames > 1 else np.zeros(frames, dtype=int)
    np.maximum.at(out[:, _BLINK], nearest, values[:, _BLINK])
    return out.astype(np.float32)


def _load_scheduler(folder: Path) -> DDIMScheduler:
    """The saved DDIM scheduler, built from its config's DDIM arguments. Not from_pretrained: that
    imports every scheduler diffusers deems compatible (scipy.stats among them), 0.5 s of start-up."""
    try:
        config = json.loads((folder / DDIMScheduler.config_name).read_text())
    except (OSError, ValueError) as error:
        raise ModelFileError(f"{folder}: unreadable scheduler config ({error})") from None
    known = inspect.signature(DDIMScheduler.__init__).parameters
    return DDIMScheduler(**{key: value for key, value in config.items() if key in known})


class MotionGenerator:
    """Text-to-controls sampler.

    Args:
        motion_model: the denoiser.
        scheduler: a DDIM scheduler whose ``prediction_type`` matches training ("sample").
        text_encoder: MiniLM; None loads the shared one on first use.
        defaults: sampling defaults (``num_inference_steps``, ``guidance_scale``).
    """

    def __init__(
        self,
        motion_model: MotionDiT,
        scheduler: DDIMScheduler,
        text_encoder: TextEncoder | None = None,
        defaults: dict | None = None,
    ) -> None:
        self.motion_model = motion_model.eval()
        self.scheduler = scheduler
        self._text_encoder = text_encoder
        self.defaults = {**DEFAULTS, **(defaults or {})}

    @property
    def text_encoder(self) -> TextEncoder:
        if self._text_encoder is None:
            self._text_encoder = get_text_encoder()
        return self._text_encoder

    # ---- files ------------------------------------------------------------------------------------

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike | None = None, text_encoder: TextEncoder | None = None):
        """Load a saved generator; ``path=None`` loads the one shipped with the package."""
        path = shipped_motion_dir() if path is None else Path(path).expanduser()
        index = check_model_dir(path, INDEX_FILE)
        model, info = _load_model(path / "motion_model")
        if info["unexpected_keys"]:
            logger.warning("%s: unexpected weights ignored: %s", path, ", ".join(info["unexpected_keys"]))
        scheduler = _load_scheduler(path / "scheduler")
        if scheduler.config.prediction_type != "sample":
            raise ModelFileError(f"{path}: the scheduler predicts {scheduler.config.prediction_type!r}, expected 'sample'")
        return cls(model, scheduler, text_encoder, index.get("defaults"))

    def save_pretrained(self, path: str | os.PathLike) -> None:
        """Write the generator directory; each file is replaced whole, never left half-written."""
        with staged_folder(Path(path)) as staging:  # 0o644: package data is read by everyone
            self.motion_model.save_pretrained(staging / "motion_model", safe_serialization=True)
            self.scheduler.save_pretrained(staging / "scheduler")
            index = {"_class_name": type(self).__name__, "motion_model": ["idvid", "MotionDiT"],
                     "scheduler": ["diffusers", "DDIMScheduler"], "defaults": self.defaults}
            (staging / INDEX_FILE).write_text(json.dumps(index, indent=2) + "\n")

    # ---- sampling ---------------------------------------------------------------------------------

    @torch.no_grad()
    def __call__(
        self,
        prompt: str,
        reference_pose: Sequence[float] = (0.0, 0.0, 0.0),
        num_frames: int = 49,
        seed: int = 0,
        num_inference_steps: int | None = None,
        guidance_scale: float | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> ControlTrack:
        """Sample one take of controls for ``prompt``.

        Args:
            prompt: what the person does; scene words do not change the motion.
            reference_pose: the photo's head (yaw, pitch, roll), degrees; the result is relative to it.
            num_frames: output frames; the model's frames are resampled in time to this count.
            seed: the same seed gives the same track; different seeds give different takes.
            num_inference_steps: DDIM steps (default from the saved generator).
            guidance_scale: classifier-free guidance on the text; 1 disables it.
            progress: called as ``fn(step, total_steps)`` after each denoising step.

        Returns:
            ControlTrack of (num_frames, 16).
        """
        steps = int(self.defaults["num_inference_steps"] if num_inference_steps is None else num_inference_steps)
        scale = float(self.defaults["guidance_scale"] if guidance_scale is None else guidance_scale)
        pose = _check_inputs(prompt, reference_pose, num_frames, steps)
        model = self.motion_model
        # from a weight, not ModelMixin.device, which imports diffusers' offloading hooks (0.13 s)
        weight = next(model.parameters())
        device, dtype = weight.device, weight.dtype
        # 1. Text tokens; the unconditional row uses the learned null text.
        features = self.text_encoder.encode([prompt])
        if features.dropped[0]:
            logger.warning(
                "the prompt is %d word pieces too long for the motion model's text encoder; its end is ignored",
                features.dropped[0],
            )
        guided = scale != 1.0
        rows = 2 if guided else 1
        tokens = features.tokens.to(device).expand(rows, -1, -1)
        mask = features.mask.to(device).expand(rows, -1)
        dropped = torch.tensor([False, True][:rows], device=device)
        pose = pose.to(device).expand(rows, -1)
        # 2. Start from seeded noise in the model's normalised space.
        generator = torch.Generator("cpu").manual_seed(int(seed))
        shape = (1, model.config.num_frames, model.config.in_channels)
        x = randn_tensor(shape, generator=generator, device=device, dtype=dtype)
        # 3. DDIM loop with classifier-free guidance on the predicted clean sample.
        self.scheduler.set_timesteps(steps, device=device)
        for i, t in enumerate(self.scheduler.timesteps):
            pred = model(x.expand(rows, -1, -1), t, tokens, pose, mask, text_dropped=dropped).sample
            if guided:
                pred = pred[1:] + scale * (pred[:1] - pred[1:])
            x = self.scheduler.step(pred, t, x).prev_sample
            if progress is not None:
                progress(i + 1, steps)
        # 4. Back to raw controls, into the renderer's ranges, resampled to num_frames.
        values = clamp_controls(model.denormalize(x[0]).float().cpu().numpy())
        return ControlTrack(resample_track(values, num_frames))


def _check_inputs(prompt, reference_pose, num_frames, steps) -> torch.Tensor:
    """Validate user inputs; -> (1, 3) float32 reference pose."""
    if not isinstance(prompt, str):
        raise GenerationError("the prompt must be a string")
    if isinstance(num_frames, bool) or not isinstance(num_frames, (int, np.integer)) or num_frames < 1:
        raise GenerationError(f"num_frames must be a positive integer, got {num_frames!r}")
    if steps < 1:
        raise GenerationError(f"num_inference_steps must be >= 1, got {steps}")
    pose = np.asarray(reference_pose, dtype=np.float64).reshape(-1)
    if pose.shape != (3,) or not np.isfinite(pose).all():
        raise GenerationError(f"reference_pose must be three finite angles (yaw, pitch, roll), got {reference_pose!r}")
    return torch.tensor(pose, dtype=torch.float32)[None]


def _load_model(folder: Path) -> tuple[MotionDiT, dict]:
    try:
        model, info = MotionDiT.from_pretrained(folder, use_safetensors=True, output_loading_info=True)
    except (OSError, ValueError, RuntimeError) as err:
        raise ModelFileError(f"cannot load the motion model from {folder}: {err}") from None
    if info["missing_keys"]:
        raise ModelFileError(f"{folder}: weights are missing for {', '.join(info['missing_keys'])}")
    return model.float().eval(), info
