"""What a Wan-VACE model can make and what a request costs, read from configs alone.

The grid and memory model are the DiT engine's (the same Wan VAE and transformer blocks), plus
what VACE adds: each reference image is a latent frame in front of the video, the control
blocks keep one hint per block for the whole step, and the (blank) conditioning video is held
at full resolution.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from idvid.engines.dit.limits import (
    DitSpec,
    directory_spec,
    meta_components,
    model_spec,
    module_bytes,
    reference_plan,
    spec_of,
)
from idvid.engines.model_dir import read_model_index
from idvid.engines.request import GenerationOptions, GenerationPlan
from idvid.engines.runtime import RuntimeOptions
from idvid.errors import ModelFileError
from idvid.presets import VACE_DEFAULTS

MAX_REFERENCES = 4  # reference photos per video; memory is planned for this many
PERSON_MASK_BYTES = 64 * 2**20  # MediaPipe's selfie segmenter, which cuts the person out of each photo


@dataclass(frozen=True)
class VaceSpec(DitSpec):
    control_blocks: int = 0  # the transformer's VACE blocks

    def memory(self, num_frames: int, height: int, width: int, rows: int,
               runtime: RuntimeOptions = RuntimeOptions()) -> int:
        frames = num_frames + MAX_REFERENCES * self.geometry.temporal  # what diffusers denoises
        hints = runtime.size_factor * rows * self.control_blocks * self.tokens(frames, height, width) * self.width * 4
        # The conditioning video diffusers builds (blank here) and its masked copy, float32 RGB,
        # alive through the whole call.
        conditioning = 2 * 3 * num_frames * height * width * 4
        return int(super().memory(frames, height, width, rows, runtime) + hints + conditioning + PERSON_MASK_BYTES)


def plan(model: str, options: GenerationOptions, runtime: RuntimeOptions = RuntimeOptions()) -> GenerationPlan:
    """Resolve ``options`` against ``model``'s defaults and grid; estimate its memory."""
    return plan_for_spec(vace_spec(model), options, runtime)


def plan_for_spec(spec: VaceSpec, options: GenerationOptions, runtime: RuntimeOptions = RuntimeOptions()
                  ) -> GenerationPlan:
    return reference_plan(spec, options, runtime, "Wan-VACE", MAX_REFERENCES)


def vace_spec(model: str) -> VaceSpec:
    """The spec of a preset name or a model directory, without loading weights."""
    return model_spec(model, _builtin_spec, _directory_spec, VACE_DEFAULTS)


def loaded_spec(transformer, vae, defaults: dict, components) -> VaceSpec:
    """The spec of loaded (or meta-device) modules."""
    spec = spec_of(transformer, vae, defaults, module_bytes(components))
    return VaceSpec(**vars(spec), control_blocks=len(transformer.config.vace_layers))


def _builtin_spec(preset) -> VaceSpec:
    from idvid.engines.vace.tiny import tiny_components

    components = meta_components(tiny_components)
    return loaded_spec(components["transformer"], components["vae"], preset.defaults, components.values())


def _directory_spec(path: Path, defaults: dict) -> VaceSpec:
    saved = read_model_index(path).get("generation_defaults")  # a directory idvid saved keeps its own
    spec = directory_spec(path, saved or defaults)
    try:
        layers = json.loads((path / "transformer" / "config.json").read_text())["vace_layers"]
    except (OSError, ValueError, KeyError) as err:
        raise ModelFileError(f"{path} is not a Wan-VACE model: its transformer has no vace_layers ({err})") from None
    return VaceSpec(**vars(spec), control_blocks=len(layers))


__all__ = ["MAX_REFERENCES", "VaceSpec", "loaded_spec", "plan", "plan_for_spec", "vace_spec"]
