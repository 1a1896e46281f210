"""NanoPipeline: the offline default engine.

The person is their real photo, put on its 3D face mesh and re-posed each frame, so the
identity is exact by construction. What is learned is cheap: a small motion diffusion
transformer turns the prompt into per-frame head, expression and camera controls, and the
prompt's scene words pick a procedural background and its light.

    photo(s) -> face analysis -> Portrait (mesh, person mask, background plate)
    prompt   -> MotionGenerator -> ControlTrack (T, 16)      prompt -> SceneSpec
             -> PortraitRenderer(portrait, size, scene).render_track(track) -> frames
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from idvid.engines.base import EngineInputs, FaceInput, reference_pixels
from idvid.engines.nano.drive import drive_track
from idvid.engines.nano.inputs import lasting, sound_of
from idvid.engines.nano.limits import plan
from idvid.engines.nano.motion import MotionGenerator, shipped_motion_dir
from idvid.engines.nano.motion_actions import CLIP_SECONDS, head_sway
from idvid.engines.nano.speech import SPREAD_AS_SMILE, read_sound, speech_motion
from idvid.engines.nano.takes import IDLE_PROMPT, LONGEST_SINGLE_CLIP, long_take, plan_clips
from idvid.engines.nano.understanding import understand
from idvid.engines.output import FrameStream, VideoOutput
from idvid.engines.request import GenerationOptions, GenerationPlan
from idvid.errors import ModelFileError
from idvid.face.observation import FaceObservation
from idvid.render.backdrop import matching_light, open_backdrop
from idvid.render.controls import CONTROL_NAMES, ControlTrack, clamp_controls
from idvid.render.scene import SceneSpec

logger = logging.getLogger("idvid")


class NanoPipeline(EngineInputs):
    """Prompt + photo(s) -> video of that person, on the CPU, with no trained video model.

    Components: ``motion`` (a MotionGenerator: MotionDiT + scheduler + MiniLM text encoder).
    The face analyzer, person segmentation and renderer are frozen, real models.
    """

    engine_name = "nano"

    def __init__(self, motion: MotionGenerator):
        self.motion = motion
        self._progress_config: dict = {}

    @classmethod
    def from_pretrained(cls, name_or_path: str | Path = "nano") -> NanoPipeline:
        """``"nano"``: the model shipped inside the package; else a saved motion-model directory."""
        shipped = str(name_or_path) == "nano"
        path = shipped_motion_dir() if shipped else Path(name_or_path).expanduser()
        if not path.is_dir():
            hint = "; reinstall idvid" if shipped else ""
            raise ModelFileError(f"model directory {path} does not exist{hint}")
        return cls(MotionGenerator.from_pretrained(path))

    def save_pretrained(self, path: str | Path) -> None:
        self.motion.save_pretrained(path)

    def to(self, device) -> NanoPipeline:
        self.motion.motion_model.to(device)
        return self

    def set_progress_bar_config(self, **kwargs) -> None:
        """Same knob as diffusers pipelines (e.g. ``disable=True``)."""
        self._progress_config = kwargs

    def _plan(self, options: GenerationOptions, output_type: str) -> GenerationPlan:
        planned = plan("nano", options)
        if output_type == "stream":
            return planned
        held = planned.options["num_frames"] * planned.options["height"] * planned.options["width"] * 3
        return replace(planned, memory_bytes=planned.memory_bytes + held)  # "np" holds the video whole

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
        face_index: int | None = None,
        fps: float | None = None,
        output_type: str = "np",
        progress: Callable[[int, int], None] | None = None,
        drive: str | Path | None = None,
        keep_sound: bool = True,
        background: str | Path | None = None,
        audio: str | Path | None = None,
        say: str | None = None,
    ) -> VideoOutput:
        """Animate the person in ``faces`` as ``prompt`` describes.

        ``negative_prompt`` and ``identity_guidance_scale`` are accepted for a common engine
        interface and not used (a warning says so when they are set). ``num_inference_steps``
        and ``guidance_scale`` are the motion model's. ``output_type``: "np" gives frames
        (T, H, W, 3) uint8; "stream" a FrameStream that draws each frame as it is read, so a
        long video is never held whole. ``progress``: called as ``fn(done, total)`` after each
        motion step, driving frame measured and frame drawn. ``drive``: a video whose head
        motion, expressions, blinks and mouth the person follows instead of the prompt's
        actions (:mod:`.drive`); it sets the length (and the rate, unless ``fps``), and its
        sound is kept unless ``keep_sound`` is False. ``background``: an image or a video
        (looped) to stand the person in front of, in place of the prompt's scene; the person is
        relit to match it. ``audio``: a sound file (anything PyAV reads) the person speaks: the
        mouth follows the voice (:mod:`.speech`), the video lasts as long as the sound and
        carries it (unless ``keep_sound`` is False); blinks and the prompt's motion go on.
        ``say``: a line of text, spoken by espeak-ng (:mod:`.say`) and then as ``audio``.
        """
        from idvid.render import Portrait, PortraitRenderer

        # 1. Check the options before any heavy work.
        options = GenerationOptions(num_frames, height, width, num_inference_steps, guidance_scale,
                                    identity_guidance_scale, seed, face_index, fps, negative_prompt)
        sound_name = f'"{say if len(say) <= 40 else say[:37] + "..."}"' if say is not None else None
        audio = sound_of(drive, audio, say)
        options, driving = lasting(options, drive, audio)
        opt = self.check_request(prompt, options, output_type)
        backdrop = open_backdrop(background, (opt["height"], opt["width"])) if background is not None else None
        seed = seed or 0
        # 2. The person: the most frontal, sharpest reference is the texture.
        photos, observations = self.references(faces, face_index)
        best = max(range(len(observations)), key=lambda i: _texture_score(observations[i]))
        portrait = Portrait.from_observation(reference_pixels(photos[best]), observations[best])
        pose = observations[best].pose
        # 3. Text -> motion and scene; then draw every frame (as they are read, for a stream).
        understood = understand(prompt)
        asks_motion = bool(understood.actions)  # before a sound adds "speaking"
        if driving is not None:
            understood = understood.driven(driving.path.name)
        if backdrop is not None:
            understood = understood.on_backdrop(Path(background).name)
        if audio is not None:
            understood = understood.speaking(sound_name or Path(audio).name)
        for line in understood.lines()[1:]:  # what it cannot do is said, not dropped
            logger.warning("%s", line)
        scene = understood.scene
        if backdrop is not None:
            scene = SceneSpec("photo", light=matching_light(backdrop.frame(0.0), portrait.plate))
        steps = num_inference_steps or self.motion.defaults["num_inference_steps"]
        # the motion model is not shown what the prompt negates: it would act it out
        motion_prompt = understood.motion_prompt or IDLE_PROMPT
        if driving is None:
            total = len(plan_clips(motion_prompt, opt["num_frames"], opt["fps"])) * steps + opt["num_frames"]
        else:  # the measuring counts the header's frames; a file may hold a few more or less
            total = round(driving.seconds * driving.fps) + opt["num_frames"]
        bar = tqdm(total=total, desc="nano", unit="step", **self._progress_config)
        done = 0

        def advance(*_) -> None:
            nonlocal done  # counted here: a disabled tqdm bar does not count
            done += 1
            bar.update(1)
            if progress is not None:
                progress(done, total)

        with _closed_on_error(bar):
            if driving is None:
                track = self.controls(motion_prompt, pose, opt["num_frames"], seed, steps, guidance_scale, advance,
                                      fps=opt["fps"])
            else:
                track = drive_track(driving, self.face_analyzer, opt["num_frames"], opt["fps"], advance)
            if audio is not None:  # nods on the syllables only where the prompt asks for no motion
                track = _speaking(track, audio, opt["fps"], nod=not asks_motion)
            renderer = PortraitRenderer(portrait, (opt["height"], opt["width"]), scene, seed=seed, backdrop=backdrop)
        sound = driving.path if driving is not None and driving.has_audio else audio
        result = dict(fps=opt["fps"], understood=understood.as_dict(), audio=sound if keep_sound else None)
        if output_type == "stream":
            shape = (opt["num_frames"], opt["height"], opt["width"], 3)
            frames = _closing(renderer.iter_frames(track, progress=advance, fps=opt["fps"]), bar)
            return VideoOutput(frames=FrameStream(shape, frames), **result)
        with bar:
            return VideoOutput(frames=renderer.render_track(track, progress=advance, fps=opt["fps"]), **result)

    def controls(self, prompt: str, pose, num_frames: int, seed: int, num_inference_steps: int | None = None,
                 guidance_scale: float | None = None, progress=None, fps: float | None = None) -> ControlTrack:
        """The per-frame controls for ``prompt``: the motion model's take plus ambient head sway.

        A take longer than about one clip at ``fps`` is several clips, cross-faded
        (:mod:`.takes`), so motion keeps the model's pace. The model predicts clean tracks (x0),
        which averages away the small random-phase sway every training clip has; a seeded sway of
        the same size is added back, so idle prompts breathe instead of freezing.
        """
        angles = (pose.yaw, pose.pitch, pose.roll)

        def clip(text: str, frames: int, clip_seed: int) -> np.ndarray:
            return self.motion(text, angles, frames, clip_seed, num_inference_steps, guidance_scale,
                               progress=progress).values

        fps = fps or num_frames / CLIP_SECONDS
        values = long_take(clip, prompt, num_frames, fps, seed).copy()
        seconds = num_frames / fps if num_frames / fps > LONGEST_SINGLE_CLIP else CLIP_SECONDS
        times = np.linspace(0.0, seconds, num_frames)
        values[:, :3] += head_sway(np.random.default_rng(seed), times)
        return ControlTrack(values)

def _speaking(track: ControlTrack, audio: str | Path, fps: float, nod: bool) -> ControlTrack:
    """``track`` with the mouth of the voice in ``audio``: its jaw, its spread lips as a part of a
    smile (at least), and, when ``nod``, small nods on the syllables."""
    speech = speech_motion(read_sound(audio), len(track), fps)
    values = track.values.copy()
    values[:, CONTROL_NAMES.index("mouth_open")] = speech.mouth_open
    smile = CONTROL_NAMES.index("smile")
    values[:, smile] = np.maximum(values[:, smile], SPREAD_AS_SMILE * speech.spread)
    if nod:
        values[:, CONTROL_NAMES.index("pitch")] += speech.nod
    return ControlTrack(clamp_controls(values))


def _texture_score(observation: FaceObservation) -> float:
    """Higher for sharp, large, frontal faces: the best view to re-pose."""
    pose = observation.pose
    return observation.quality - (abs(pose.yaw) + abs(pose.pitch)) / 90.0


@contextmanager
def _closed_on_error(bar) -> Iterator[None]:
    try:
        yield
    except BaseException:
        bar.close()
        raise


def _closing(frames: Iterator[np.ndarray], bar) -> Iterator[np.ndarray]:
    """``frames``, closing the progress bar when they end or the reader stops early."""
    try:
        yield from frames
    finally:
        bar.close()
