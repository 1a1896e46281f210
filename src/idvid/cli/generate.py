"""idvid generate: a video of the person in the photo(s) doing what the prompt says."""

from __future__ import annotations

import argparse
import logging
import math
import sys
from pathlib import Path

from idvid.atomic import check_output
from idvid.cli.runtime import add_runtime_arguments, runtime_options
from idvid.errors import ConfigError

EXAMPLES = """\
examples:
  idvid generate --face me.jpg --prompt "a woman walks along a beach at sunset and smiles" --out beach.mp4
  idvid generate --face front.jpg --face side.jpg --prompt "..." --model wan2.1-1.3b --frames 49
  idvid generate --face me.jpg --drive clip.mp4 --prompt "on a beach at sunset"    # follow a video's face
  idvid generate --face me.jpg --audio line.wav --background office.jpg --prompt "she smiles"
  idvid generate --face me.jpg --say "Hello, nice to meet you." --prompt "on a city street at night, in the rain"
  idvid generate --face me.jpg --model fantasyid --prompt "..." --device cuda --dtype bfloat16 --offload model
  idvid convert --mesh-sampling transform.pkl --deca deca_model.tar --flame generic_model.pkl --out DIR
  idvid faces group.jpg --preview faces.png
  idvid info
"""


def _generate_parser(sub) -> None:
    from idvid.presets import DEFAULT_MODEL

    p = sub.add_parser(
        "generate",
        help="make a video of the person in a photo doing what a prompt says",
        description="Generate a video of the person in --face doing what --prompt describes. "
        "Several --face photos of the same person form a multi-view reference set. "
        "Options left out take the model's defaults (see `idvid info`).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EXAMPLES,
    )
    p.add_argument("--face", action="append", required=True, metavar="PHOTO",
                   help="reference photo of the person (repeat for several views of the same person)")
    p.add_argument("--prompt", required=True, help="what happens in the video: action, scene, light, camera")
    p.add_argument("--out", default="idvid.mp4", type=Path, help="output .mp4 (default: %(default)s)")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    p.add_argument("--model", default=DEFAULT_MODEL,
                   help="preset name or model directory (default: %(default)s; list with `idvid info`)")
    p.add_argument("--face-index", type=int, metavar="N",
                   help="which face to use when a photo shows several, numbered left to right from 0")
    p.add_argument("--frames", type=int, dest="num_frames", metavar="N", help="number of frames")
    p.add_argument("--seconds", type=float, metavar="S",
                   help="length in seconds instead of --frames (at --fps, else the model's fps; rounded to the "
                   "model's frame grid); nano plays long takes at its own pace, the prompt's steps in order")
    p.add_argument("--height", type=int, help="video height in pixels")
    p.add_argument("--width", type=int, help="video width in pixels")
    p.add_argument("--fps", type=float, help="frames per second of the written video (29.97 and the like work)")
    p.add_argument("--drive", type=Path, metavar="VIDEO",
                   help="nano: the person follows this video's head motion, expressions, blinks and mouth "
                   "(it sets the length; the prompt still sets the scene and light; its sound is kept)")
    p.add_argument("--no-audio", action="store_true",
                   help="with --drive, --audio or --say: leave the sound out of the video")
    p.add_argument("--audio", type=Path, metavar="SOUND",
                   help="nano: the person speaks this sound (wav, mp3, m4a, a video's sound...): the mouth follows "
                   "the voice, the video lasts as long as the sound and carries it")
    p.add_argument("--say", metavar="TEXT",
                   help="nano: the person speaks this line (espeak-ng's synthetic voice): as --audio with the "
                   "spoken line")
    p.add_argument("--background", type=Path, metavar="IMAGE|VIDEO",
                   help="nano: stand the person in front of this image or (looping) video, relit to match it, "
                   "instead of the prompt's scene")
    p.add_argument("--face-mesh", type=Path, metavar="PLY",
                   help="FantasyID: the person's FLAME point cloud (the released model's mesh has 5023 points) "
                   "instead of computing it with DECA and FLAME from the photo")
    p.add_argument("--steps", type=int, dest="num_inference_steps", metavar="N", help="denoising steps")
    p.add_argument("--guidance", type=float, dest="guidance_scale", metavar="S", help="text guidance scale")
    p.add_argument("--id-guidance", type=float, dest="identity_guidance_scale", metavar="S",
                   help="identity guidance scale (on top of the text)")
    p.add_argument("--negative-prompt", default="", help="what the video should not show")
    p.add_argument("--seed", type=int, default=0, help="random seed; the same seed repeats the video (default: 0)")
    p.add_argument("--device", default=None, help="torch device, e.g. cpu or cuda (default: cpu)")
    add_runtime_arguments(p)


def cmd_generate(args) -> None:
    from idvid.engines import GenerationOptions, load_engine, plan_generation
    from idvid.engines.nano.drive import check_faces, probe
    from idvid.engines.nano.inputs import checked
    from idvid.engines.output import understood_lines
    from idvid.engines.request import check_prompt
    from idvid.face import FaceAnalyzer

    # Everything the user typed is checked before the model loads (seconds to minutes).
    check_output(args.out, args.overwrite, (".mp4",))
    check_prompt(args.prompt)
    options = GenerationOptions(
        num_frames=args.num_frames, height=args.height, width=args.width,
        num_inference_steps=args.num_inference_steps, guidance_scale=args.guidance_scale,
        identity_guidance_scale=args.identity_guidance_scale, seed=args.seed, face_index=args.face_index,
        fps=args.fps, negative_prompt=args.negative_prompt,
    )
    runtime = runtime_options(args)
    nano_inputs = {name: getattr(args, name) for name in ("drive", "audio", "say", "background")
                   if getattr(args, name) is not None}
    if nano_inputs and args.seconds is not None:
        raise ConfigError(f"{'the driving video' if args.drive else 'the sound'} sets the length: leave out --frames "
                          "and --seconds")
    if args.no_audio and not {"drive", "audio", "say"} & set(nano_inputs):
        logging.getLogger("idvid").warning("--no-audio does nothing without --drive, --audio or --say: nothing brings "
                                           "sound")
    # the engine takes the length from the driving video or the sound itself; planned here the same way
    planned = checked(args.model, options, **nano_inputs) if nano_inputs else options
    engine_inputs = dict(nano_inputs, **_face_mesh_input(args.model, args.face_mesh))
    if args.no_audio:
        engine_inputs["keep_sound"] = False
    plan = plan_generation(args.model, planned, device=args.device, runtime=runtime, photos=len(args.face))
    if args.seconds is not None:
        options = _with_seconds(options, args.seconds, plan)
        plan_generation(args.model, options, device=args.device, runtime=runtime, photos=len(args.face))
    # The faces too (none, several, too small, different people): the engine takes these analyses.
    analyzer = FaceAnalyzer()
    faces = analyzer.references(args.face, args.face_index)
    if args.drive is not None:
        check_faces(probe(args.drive), analyzer)
    print(f"loading model {args.model} ...", file=sys.stderr)
    engine = load_engine(args.model, device=args.device, runtime=runtime)
    result = engine(prompt=args.prompt, faces=faces, output_type="stream", **options.as_kwargs(), **engine_inputs)
    path = result.save(args.out, overwrite=args.overwrite)
    if result.understood:  # what was not used was said as a warning when generation started
        print(understood_lines(engine.engine_name, result.understood)[0])
    frames, height, width = result.frames.shape[:3]
    print(f"wrote {path} ({frames} frames, {width}x{height}, {result.fps:g} fps)")


def _face_mesh_input(model: str, face_mesh: Path | None) -> dict:
    """``{"face_mesh": points}`` for a FantasyID model (read and checked now, before loading)."""
    from idvid.engines import engine_kind

    if engine_kind(model) == "fantasyid":
        from idvid.engines.fantasyid.limits import checked_face_mesh

        points = checked_face_mesh(model, face_mesh)
        return {} if points is None else {"face_mesh": points}
    if face_mesh is not None:
        raise ConfigError(f"--face-mesh is FantasyID's 3D face shape; {model} does not take it")
    return {}


def _with_seconds(options, seconds: float, plan):
    """``options`` with the frame count that lasts ``seconds`` at the plan's fps, on its frame grid."""
    import dataclasses

    if options.num_frames is not None:
        raise ConfigError("give --frames or --seconds, not both")
    if not math.isfinite(seconds) or seconds <= 0:
        raise ConfigError(f"--seconds must be a positive number, got {seconds:g}")
    step = plan.frame_step
    frames = max(2, round((seconds * plan.options["fps"] - 1) / step) * step + 1)
    return dataclasses.replace(options, num_frames=frames)


def add_parsers(sub) -> None:
    _generate_parser(sub)


COMMANDS = {"generate": cmd_generate}
