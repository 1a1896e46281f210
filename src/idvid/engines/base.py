"""The contract every engine keeps, and the request handling engines share.

An engine is one folder, ``engines/<name>/``, whose package exports without loading its heavy
libraries:

- ``plan(model, options) -> GenerationPlan``: the options with the model's defaults filled in
  and checked against its limits, the memory the request needs, the options it ignores;
- ``recognizes(path) -> bool``: whether a directory holds one of its models;
- ``Pipeline``: its :class:`Engine` class, imported on first use.

It registers with one line in ``idvid.engines.ENGINES``. The CLI, the Python API, the
benchmarks and the web app know only this contract.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from idvid.engines.output import VideoOutput
from idvid.engines.request import GenerationOptions, GenerationPlan, check_memory, check_prompt
from idvid.engines.runtime import RuntimeOptions, ignore_runtime
from idvid.errors import GenerationError
from idvid.face.analyzer import as_face_list
from idvid.face.observation import FaceObservation

logger = logging.getLogger("idvid")

FaceInput = str | Path | np.ndarray | FaceObservation
# How messages name an option: its command-line flag.
OPTION_FLAGS = {"negative_prompt": "--negative-prompt", "identity_guidance_scale": "--id-guidance",
                "guidance_scale": "--guidance"}


@runtime_checkable
class Engine(Protocol):
    """Prompt + photos of one person -> a video of them, with the options of
    :class:`~idvid.engines.request.GenerationOptions` (None: the model's default)."""

    @classmethod
    def from_pretrained(cls, name_or_path: str | Path) -> Engine: ...

    def __call__(self, prompt: str, faces: FaceInput | Sequence[FaceInput], *, output_type: str = "np",
                 progress: Callable[[int, int], None] | None = None, **options) -> VideoOutput: ...

    def to(self, device) -> Engine: ...

    def set_runtime(self, runtime: RuntimeOptions, device: str | None = None) -> Engine: ...

    def set_progress_bar_config(self, **kwargs) -> None: ...


class EngineInputs:
    """What every engine does with a request before its own generation starts.

    Subclasses set ``engine_name`` and ``output_types`` and implement ``_plan(options)``: the
    loaded model's plan. ``_device`` is where the engine runs.
    """

    engine_name: str
    output_types: tuple[str, ...] = ("np", "stream")
    _face_analyzer = None

    @property
    def face_analyzer(self):
        if self._face_analyzer is None:
            from idvid.face import FaceAnalyzer

            self._face_analyzer = FaceAnalyzer()
        return self._face_analyzer

    def _plan(self, options: GenerationOptions, output_type: str) -> GenerationPlan:
        raise NotImplementedError

    @property
    def _device(self) -> str:
        return "cpu"

    def set_runtime(self, runtime: RuntimeOptions, device: str | None = None):
        """Run on ``device``; an engine with no diffusion models to cast, offload or cache (this
        default; diffusers engines take :class:`~idvid.engines.runtime.DiffusersRuntime`'s)
        says once per runtime option that it ignores it."""
        ignore_runtime(self.engine_name, runtime, "it has no diffusion models to cast, offload or cache")
        return self.to(device) if device else self

    def check_request(self, prompt: str, options: GenerationOptions, output_type: str, photos: int = 1) -> dict:
        """The options resolved for this model, after every check that needs no face analysis:
        the prompt, the output type, the model's limits, memory, the number of reference
        ``photos``; says which options it ignores."""
        check_prompt(prompt)
        if output_type not in self.output_types:
            raise GenerationError(f"output_type must be one of {', '.join(map(repr, self.output_types))}, "
                                  f"got {output_type!r}")
        plan = self._plan(options, output_type)
        plan.check_photos(photos)
        check_memory(plan, self._device, loaded=True)
        for name, reason in plan.ignored.items():
            logger.warning("%s ignores %s: %s", self.engine_name, OPTION_FLAGS.get(name, name), reason)
        return plan.options

    def references(self, faces: FaceInput | Sequence[FaceInput],
                   face_index: int | None) -> tuple[list[FaceInput], list[FaceObservation]]:
        """The reference inputs as a list, and their analyses (one person; ``face_index`` picks
        them on group photos)."""
        photos = as_face_list(faces)
        return photos, self.face_analyzer.references(photos, face_index)


def reference_pixels(face: FaceInput) -> np.ndarray:
    """The photo behind a face input, as (H, W, 3) uint8 RGB; an analysis carries its photo only
    as the path it was made from (its ``source``)."""
    from idvid.face import load_photo

    source = face.source if isinstance(face, FaceObservation) else face
    if source is None:
        raise GenerationError("this engine needs the reference photo itself, not only its analysis")
    return load_photo(source)
