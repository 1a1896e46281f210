"""What a generation returns."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from diffusers.utils import BaseOutput


@dataclass
class FrameStream:
    """Frames made one at a time as they are read, once: a long video goes to the encoder
    without ever being held whole, so memory stays flat in its length.

    shape: (T, H, W, 3) of the video the frames make; frames: yields (H, W, 3) uint8 RGB.
    """

    shape: tuple[int, int, int, int]
    frames: Iterable[np.ndarray]

    def __len__(self) -> int:
        return self.shape[0]

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter(self.frames)


def understood_lines(engine_name: str, understood: dict) -> list[str]:
    """``VideoOutput.understood`` in words: what was taken, and (when any) the words not used."""
    # vocabulary actions are one snake_case word; named sources ("speaking my_take.wav") keep theirs
    actions = ", ".join(a if " " in a else a.replace("_", " ") for a in understood["actions"]) or "none named (idle motion)"
    light = ", ".join(understood["light"]) or "the scene's own"
    took = f"{engine_name} took from the prompt: actions: {actions}; scene: {understood['scene']}; light: {light}"
    negated = [a.replace("_", " ") for a in understood.get("negated", [])]
    unused = understood["unused"]
    return ([took] + ([f"{engine_name} leaves out what the prompt says not to do: {', '.join(negated)}"] if negated else [])
            + ([f"{engine_name} did not use: {', '.join(unused)}"] if unused else []))


@dataclass
class VideoOutput(BaseOutput):
    """frames: (T, H, W, 3) uint8 RGB, or a FrameStream of them; fps: playback rate;
    understood: what the engine took from the prompt and which words it did not use, for
    engines that read a prompt word by word (nano), else None; audio: a file whose sound the
    video carries (a driving video's), else None."""

    frames: np.ndarray | FrameStream
    fps: float
    understood: dict | None = None
    audio: Path | None = None

    def save(self, path: str | Path, overwrite: bool = False) -> Path:
        """Write an H.264 mp4 atomically, ``understood`` in its comment tag and ``audio``'s sound
        muxed in; refuses to replace a file unless ``overwrite``."""
        import json

        from idvid.video import write_video

        metadata = {"comment": "idvid understood: " + json.dumps(self.understood)} if self.understood else None
        return write_video(self.frames, path, fps=self.fps, overwrite=overwrite, metadata=metadata, audio=self.audio)


def array_output(frames: np.ndarray, fps: float, output_type: str) -> VideoOutput:
    """A finished (T, H, W, 3) uint8 video as ``output_type`` "np", or "stream" (for callers that
    write any engine's output the same way)."""
    if output_type == "stream":
        return VideoOutput(frames=FrameStream(frames.shape, iter(frames)), fps=fps)
    return VideoOutput(frames=frames, fps=fps)
