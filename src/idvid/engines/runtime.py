"""How a loaded engine runs: precision, offloading, VAE tiling and First Block Cache.

These trade speed for memory (or the reverse) and leave the request itself alone, so they are
not :class:`~idvid.engines.request.GenerationOptions`. Engines built on diffusers pipelines apply
them with diffusers' own tools (:class:`DiffusersRuntime`); an engine with nothing to offload,
cast or cache says once per option that it ignores it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields

from idvid.errors import GenerationError

logger = logging.getLogger("idvid")

DTYPES = ("float32", "bfloat16", "float16")
OFFLOADS = ("none", "model", "group")
# How messages name each runtime option: its command-line flag.
RUNTIME_FLAGS = {"dtype": "--dtype", "offload": "--offload", "vae_tiling": "--vae-tiling", "cache": "--cache"}


@dataclass(frozen=True)
class RuntimeOptions:
    """dtype: the weights' and activations' precision; offload: "model" keeps one model on the
    GPU at a time, "group" one transformer block; vae_tiling: decode in overlapping tiles;
    cache: First Block Cache threshold (None: off; larger skips more steps, costs fidelity)."""

    dtype: str = "float32"
    offload: str = "none"
    vae_tiling: bool = False
    cache: float | None = None

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise GenerationError(f"--dtype must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
        if self.offload not in OFFLOADS:
            raise GenerationError(f"--offload must be one of {', '.join(OFFLOADS)}, got {self.offload!r}")
        if self.cache is not None and not 0 <= self.cache <= 1:
            raise GenerationError(f"--cache is a First Block Cache threshold from 0 to 1, got {self.cache:g}")

    @property
    def size_factor(self) -> float:
        """Bytes per float32 byte that weights and activations take at this precision."""
        return 1.0 if self.dtype == "float32" else 0.5

    def given(self) -> list[str]:
        """The options set to something other than the default."""
        return [f.name for f in fields(self) if getattr(self, f.name) != f.default]

    def load_kwargs(self, pipeline: type) -> dict:
        """What ``pipeline.from_pretrained`` takes to load in this precision (loading float32
        and casting after would need twice the host memory)."""
        if self.dtype == "float32" or not issubclass(pipeline, DiffusersRuntime):
            return {}
        import torch

        return {"torch_dtype": getattr(torch, self.dtype)}

    def check_device(self, device: str | None) -> None:
        """GenerationError for offloading without a GPU to offload from."""
        if self.offload != "none" and not (device or "cpu").startswith("cuda"):
            raise GenerationError(f"--offload {self.offload} moves models between the CPU and a GPU; "
                                  "give --device cuda")


def ignore_runtime(engine_name: str, runtime: RuntimeOptions, reason: str) -> None:
    """Say once per given option that an engine does not use it."""
    for name in runtime.given():
        logger.warning("%s ignores %s: %s", engine_name, RUNTIME_FLAGS[name], reason)


class DiffusersRuntime:
    """``set_runtime`` for engines that are diffusers pipelines; ``_runtime`` is what they plan with;
    ``cache_unsupported``: why First Block Cache would be wrong for the engine (None: it applies)."""

    _runtime = RuntimeOptions()
    cache_unsupported: str | None = None

    @property
    def _device(self) -> str:
        return str(self._execution_device)

    def set_runtime(self, runtime: RuntimeOptions, device: str | None = None):
        import torch

        self._runtime = runtime
        if runtime.dtype != "float32":
            self.to(dtype=getattr(torch, runtime.dtype))
        if runtime.vae_tiling:
            self.vae.enable_tiling()
        if runtime.cache is not None and self.cache_unsupported:
            logger.warning("%s ignores %s: %s", self.engine_name, RUNTIME_FLAGS["cache"], self.cache_unsupported)
        elif runtime.cache is not None:
            from diffusers.hooks import FirstBlockCacheConfig

            for name in ("transformer", "transformer_2"):
                if getattr(self, name, None) is not None:
                    getattr(self, name).enable_cache(FirstBlockCacheConfig(threshold=runtime.cache))
        if runtime.offload == "model":
            self.enable_model_cpu_offload(device=device)
        elif runtime.offload == "group":
            onload = torch.device(device)
            self.enable_group_offload(onload_device=onload, offload_device=torch.device("cpu"),
                                      offload_type="block_level", num_blocks_per_group=1,
                                      use_stream=onload.type == "cuda")  # load the next block while one runs
        elif device:
            self.to(device)
        return self

    def call_pipeline(self, call, steps: int, progress=None, **kwargs):
        """``call(**kwargs)`` (a diffusers pipeline's own ``__call__``) as (T, H, W, 3) frames in
        [0, 1], telling ``progress(done, steps)`` after each step."""

        def step_end(pipe, step, timestep, tensors):
            if progress is not None:
                progress(step + 1, steps)
            return {}

        try:
            return call(output_type="np", callback_on_step_end=step_end, **kwargs).frames[0]
        finally:  # also after an error or Ctrl-C: reset cache state, offload again (diffusers does
            self.maybe_free_model_hooks()  # this only when the call finishes)
