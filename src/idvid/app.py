"""``idvid app``: every engine in a web page, and the same generation as a Gradio API endpoint.

    idvid app                       # http://127.0.0.1:7860
    from gradio_client import Client, handle_file
    Client("http://127.0.0.1:7860").predict([handle_file("me.jpg")], "a woman nods", "nano",
                                            api_name="/generate")

Requests run one at a time through Gradio's queue (the engines share the CPU or GPU); loaded
engines stay loaded between requests. Uploads land in Gradio's temporary folder, under a size
limit checked before they are read; videos are written into the app's own folder; nothing else
on disk is served. Bad input gets the CLI's one-line messages.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
import uuid
from pathlib import Path

from idvid.errors import IdvidError

logger = logging.getLogger("idvid")

MAX_UPLOAD = "25 MB"  # per file, refused by Gradio before it is read
MAX_PHOTOS = 8  # the app's own cap per request (an engine may take fewer: its plan says so)
MAX_DRIVE_SECONDS = 120  # a driving or background video's or a sound's length, read from its header first
SCORES = ("facesim", "motion_amplitude", "prompt_motion")  # metrics scored on every video
SHOWN = ("facesim", "facesim_min", "motion_amplitude", "prompt_motion_match")  # of their outputs, these
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


class LoadedEngines:
    """Engines by model name, loaded on first use and kept; loading is serialised."""

    def __init__(self) -> None:
        self._engines: dict = {}
        self._lock = threading.Lock()

    def get(self, model: str):
        from idvid.engines import load_engine

        with self._lock:
            if model not in self._engines:
                engine = load_engine(model)
                engine.set_progress_bar_config(disable=True)  # the page shows progress instead
                self._engines[model] = engine
            return self._engines[model]


def engine_choices() -> list[tuple[str, str]]:
    """(label, preset) for every preset; those whose weights are not here say why in the label."""
    from idvid.presets import PRESETS, resolve_preset_dir

    choices = []
    for preset in PRESETS.values():
        path, how = resolve_preset_dir(preset)
        missing = preset.repo_id is not None and path is None
        choices.append((f"{preset.name} (unavailable: {how})" if missing else preset.name, preset.name))
    return choices


class App:
    """The page's actions; ``out_dir``: where videos are written (and the only folder served)."""

    def __init__(self, out_dir: Path, engines: LoadedEngines | None = None) -> None:
        from idvid.eval.models import EvalModels
        from idvid.face import FaceAnalyzer

        self.out_dir = Path(out_dir)
        self.engines = engines or LoadedEngines()
        # loaded on first use and kept: every request analyses photos and scores a video
        self.analyzer = FaceAnalyzer()
        self.scoring = EvalModels(analyzer=self.analyzer)

    def generate(self, photos, prompt: str, model: str, num_frames, height, width, fps, seed, guidance,
                 face_index, drive=None, background=None, audio=None, say=None, progress=None) -> tuple:
        """-> (the video's path, what the engine took, ignored and scored, as markdown, FaceSim
        over the frames as a table with columns frame and facesim)."""
        import gradio as gr

        try:
            return self._generate(photos, prompt, model, num_frames, height, width, fps, seed, guidance,
                                  face_index, drive, background, audio, say, progress or (lambda *_, **__: None))
        except IdvidError as err:
            raise gr.Error(str(err), print_exception=False) from None

    def _generate(self, photos, prompt, model, num_frames, height, width, fps, seed, guidance, face_index,
                  drive, background, audio, say, progress) -> tuple:
        from idvid.engines import GenerationOptions, plan_generation
        from idvid.engines.output import understood_lines

        photos = [str(p) for p in photos or []]
        if not photos:
            raise IdvidError("add a photo of the person")
        if len(photos) > MAX_PHOTOS:
            raise IdvidError(f"the app takes at most {MAX_PHOTOS} photos per request, got {len(photos)}")
        options = GenerationOptions(num_frames=_int(num_frames), height=_int(height), width=_int(width),
                                    fps=_number(fps), seed=_int(seed) or 0, guidance_scale=_number(guidance),
                                    face_index=_int(face_index))
        nano_inputs = {name: value for name, value in (("drive", drive), ("audio", audio), ("say", say),
                                                       ("background", background)) if value}
        planned = self._nano_planned(model, options, nano_inputs) if nano_inputs else options
        plan = plan_generation(model, planned, photos=len(photos))  # before any model loads
        faces = self.analyzer.references(photos, options.face_index)
        progress(0, desc="loading the model")
        engine = self.engines.get(model)
        result = engine(prompt=prompt, faces=faces, output_type="stream",
                        progress=lambda done, total: progress((done, total), desc="generating"),
                        **options.as_kwargs(), **nano_inputs)
        path = result.save(self.out_dir / f"{uuid.uuid4().hex}.mp4")
        notes = understood_lines(engine.engine_name, result.understood) if result.understood else []
        notes += [f"{engine.engine_name} ignores {name}: {reason}" for name, reason in plan.ignored.items()]
        scores, curve = self._scores(path, faces, prompt)
        return str(path), "\n".join(f"- {line}" for line in notes + scores), curve

    @staticmethod
    def _nano_planned(model: str, options, inputs: dict):
        """The options nano's uploaded ``inputs`` plan with, checked as the CLI checks them, each
        video or sound at most MAX_DRIVE_SECONDS long."""
        from idvid.engines.nano.drive import probe
        from idvid.engines.nano.inputs import checked
        from idvid.render.backdrop import is_image

        planned = checked(model, options, **inputs)
        if {"drive", "audio", "say"} & set(inputs) and planned.num_frames / planned.fps > MAX_DRIVE_SECONDS:
            raise IdvidError(f"the driving video or sound is longer than {MAX_DRIVE_SECONDS} s")
        background = inputs.get("background")
        if background and not is_image(background) and probe(background).seconds > MAX_DRIVE_SECONDS:
            raise IdvidError(f"the background video is longer than {MAX_DRIVE_SECONDS} s")
        return planned

    def _scores(self, video: Path, faces, prompt: str) -> tuple[list[str], object]:
        """(score lines, FaceSim per sampled frame as a DataFrame) of a made video."""
        import pandas as pd

        from idvid.eval.evaluate import evaluate_video

        result = evaluate_video(video, faces, prompt, metrics=list(SCORES), models=self.scoring)
        lines = [f"{name}: {result.values[name]:.3f}" for name in SHOWN
                 if result.values.get(name) is not None and result.values[name] == result.values[name]]
        lines += [f"{name}: not measured ({why})" for name, why in result.notes.items() if name in SCORES]
        facesim = result.series.get("facesim")
        curve = pd.DataFrame({"frame": facesim.frames if facesim else [], "facesim": facesim.values if facesim else []})
        return lines, curve

    def faces(self, photos) -> tuple:
        """The first photo with its faces boxed and numbered, and a line saying which is used."""
        from idvid.face import load_photo

        if not photos:
            return None, ""
        analyzer = self.analyzer
        try:
            image = load_photo(str(photos[0]))
            detections = analyzer.detect(image)
            try:
                chosen = analyzer.choose(detections, None, source="the first photo")
                said = f"{len(detections)} face(s); using the one boxed as chosen"
            except IdvidError as err:
                chosen, said = None, str(err)
            return analyzer.annotate(image, detections, chosen), said
        except IdvidError as err:
            return None, str(err)


def _int(value) -> int | None:
    return None if value in (None, "") else int(value)


def _number(value) -> float | None:
    return None if value in (None, "") else float(value)


def build(app: App):
    """The Gradio page; its generation is also the API endpoint ``/generate``."""
    import gradio as gr

    with gr.Blocks(title="idvid") as page:
        gr.Markdown("# idvid\nA photo of a person and a prompt: a video of that person doing it.")
        with gr.Row():
            with gr.Column():
                photos = gr.File(label="photos of the person (several: one person's views)", file_count="multiple",
                                 file_types=["image"], type="filepath")
                preview = gr.Image(label="faces found", interactive=False)
                found = gr.Markdown()
                prompt = gr.Textbox(label="prompt", placeholder="a woman turns to her left and smiles, on a beach")
                model = gr.Dropdown(engine_choices(), value="nano", label="engine")
                with gr.Accordion("options (empty: the engine's default)", open=False):
                    num_frames = gr.Number(label="frames", precision=0)
                    height = gr.Number(label="height", precision=0)
                    width = gr.Number(label="width", precision=0)
                    fps = gr.Number(label="fps")
                    seed = gr.Number(label="seed", value=0, precision=0)
                    guidance = gr.Number(label="guidance")
                    face_index = gr.Number(label="face index (on a group photo)", precision=0)
                drive = gr.Video(label="driving video (nano: the person follows its head, face and sound)",
                                 sources=["upload"])
                background = gr.File(label="background image or video (nano: in place of the prompt's scene)",
                                     file_types=["image", "video"], type="filepath")
                audio = gr.Audio(label="speech (nano: the person says it)", sources=["upload"], type="filepath")
                say = gr.Textbox(label="or a line to say (nano: a synthetic voice speaks it)")
                with gr.Row():
                    run = gr.Button("generate", variant="primary")
                    stop = gr.Button("cancel")
            with gr.Column():
                video = gr.Video(label="video", autoplay=True)
                notes = gr.Markdown()
                curve = gr.LinePlot(x="frame", y="facesim", label="FaceSim to the photo, by frame", y_lim=[0, 1])
                gallery = gr.Gallery(label="made in this session", columns=4, height=220, object_fit="contain")
        made = gr.State([])
        photos.change(app.faces, photos, [preview, found], api_name=False)
        inputs = [photos, prompt, model, num_frames, height, width, fps, seed, guidance, face_index, drive,
                  background, audio, say]

        def generate(photos, prompt, model, num_frames, height, width, fps, seed, guidance, face_index, drive=None,
                     background=None, audio=None, say=None, progress=gr.Progress()):  # Gradio passes a live bar here
            return app.generate(photos, prompt, model, num_frames, height, width, fps, seed, guidance, face_index,
                                drive, background, audio, say, progress)

        event = run.click(generate, inputs, [video, notes, curve], api_name="generate")
        event.then(lambda path, paths: ([*paths, path],) * 2 if path else (paths, paths), [video, made],
                   [made, gallery], api_name=False)
        stop.click(None, cancels=[event])
    return page


def serve(host: str = "127.0.0.1", port: int = 7860, out_dir: Path | None = None, block: bool = True):
    """Start the app; returns the launched page (``block=False``: without waiting, for tests)."""
    started = time.perf_counter()
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # idvid works offline; nothing is sent out
    if host not in LOCAL_HOSTS:
        logger.warning("serving on %s: anyone who can reach this machine can use the app", host)
    out_dir = Path(out_dir or tempfile.mkdtemp(prefix="idvid-app-"))
    page = build(App(out_dir))
    page.queue(default_concurrency_limit=1, max_size=32)
    page.launch(server_name=host, server_port=port, max_file_size=MAX_UPLOAD, allowed_paths=[str(out_dir)],
                prevent_thread_lock=True, quiet=True, show_error=True)
    print(f"idvid app ready at {page.local_url} ({time.perf_counter() - started:.1f} s)")
    if block:
        page.block_thread()
    return page
