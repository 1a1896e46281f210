"""What a ConsisID model can make and what a request costs, read from configs alone.

The grid and memory model are the DiT engine's (ConsisID is CogVideoX-5B image-to-video with
face modules inside its transformer), plus the face encoder: its weights and what it holds
while it reads the face, counted as if it stayed on the device for the whole call.
"""

from __future__ import annotations

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
from idvid.engines.request import GenerationOptions, GenerationPlan
from idvid.engines.runtime import RuntimeOptions
from idvid.presets import CONSISID_DEFAULTS

MAX_PHOTOS = 1  # ConsisID conditions on one face
# BiSeNet's features on a 512 px crop and EVA-CLIP's on one face, float32 (measured 0.11 GB
# above the weights with the real-size towers on CPU)
FACE_ACTIVATION_BYTES = 128 * 2**20


@dataclass(frozen=True)
class ConsisIDSpec(DitSpec):
    face_encoder_bytes: int = 0  # as float32

    def memory(self, num_frames: int, height: int, width: int, rows: int,
               runtime: RuntimeOptions = RuntimeOptions()) -> int:
        return int(super().memory(num_frames, height, width, rows, runtime)
                   + self.face_encoder_bytes + FACE_ACTIVATION_BYTES)


def plan(model: str, options: GenerationOptions, runtime: RuntimeOptions = RuntimeOptions()) -> GenerationPlan:
    """Resolve ``options`` against ``model``'s defaults and grid; estimate its memory."""
    return plan_for_spec(consisid_spec(model), options, runtime)


def plan_for_spec(spec: ConsisIDSpec, options: GenerationOptions, runtime: RuntimeOptions = RuntimeOptions()
                  ) -> GenerationPlan:
    return reference_plan(spec, options, runtime, "ConsisID", MAX_PHOTOS)


def consisid_spec(model: str) -> ConsisIDSpec:
    """The spec of a preset name or a model directory, without loading weights."""
    return model_spec(model, _builtin_spec, _directory_spec, CONSISID_DEFAULTS)


def loaded_spec(transformer, vae, defaults: dict, components, face_encoder_bytes: int) -> ConsisIDSpec:
    """The spec of loaded (or meta-device) modules and a face encoder of that many bytes."""
    spec = spec_of(transformer, vae, defaults, module_bytes(components))
    return ConsisIDSpec(**vars(spec), face_encoder_bytes=face_encoder_bytes)


def _builtin_spec(preset) -> ConsisIDSpec:
    from idvid.engines.consisid.tiny import tiny_arcface_graph, tiny_components, tiny_face_models

    components = meta_components(tiny_components)
    face_bytes = module_bytes(meta_components(tiny_face_models).values()) + len(tiny_arcface_graph())
    return loaded_spec(components["transformer"], components["vae"], preset.defaults, components.values(),
                       face_bytes)


def _directory_spec(path: Path, defaults: dict) -> ConsisIDSpec:
    from idvid.engines.consisid.face_encoder import face_encoder_bytes

    return ConsisIDSpec(**vars(directory_spec(path, defaults)), face_encoder_bytes=face_encoder_bytes(path / "face_encoder"))


__all__ = ["MAX_PHOTOS", "ConsisIDSpec", "consisid_spec", "loaded_spec", "plan", "plan_for_spec"]
