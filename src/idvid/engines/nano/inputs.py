"""nano's own inputs beyond the common call: a driving video, a sound or a line to speak, a background.

Each is checked from its header before any model loads. A driving video or a sound sets the
video's length; :func:`lasting` turns that into the request's options, for the pipeline and,
through :func:`checked`, for the CLI and the app, so all three plan the same request.
"""

from __future__ import annotations

from pathlib import Path

from idvid.engines.nano.drive import DrivingVideo, probe
from idvid.engines.nano.limits import DEFAULTS, check_nano, options_lasting
from idvid.engines.nano.speech import sound_seconds
from idvid.engines.request import GenerationOptions
from idvid.errors import ConfigError

# each input, the flag that gives it, and why another engine cannot take it
FLAGS = {"drive": ("--drive", "makes its own motion"), "audio": ("--audio", "has no speech input"),
         "say": ("--say", "has no speech input"), "background": ("--background", "draws its own scene")}


def sound_of(drive: str | Path | None = None, audio: str | Path | None = None, say: str | None = None
             ) -> str | Path | None:
    """The sound file the person speaks: ``audio``, or ``say`` spoken (one of them, and neither
    with a driving video, which brings its own sound)."""
    given = [flag for flag, value in (("--drive", drive), ("--audio", audio), ("--say", say)) if value is not None]
    if len(given) > 1:
        raise ConfigError(f"give one of {', '.join(given)}: each sets the motion of the mouth and the length")
    if say is not None:
        from idvid.engines.nano.say import spoken_line

        return spoken_line(say)
    return audio


def lasting(options: GenerationOptions, drive: str | Path | None = None, audio: str | Path | None = None
            ) -> tuple[GenerationOptions, DrivingVideo | None]:
    """``options`` lasting as long as the driving video (at its own rate unless ``options.fps``)
    or the sound (at nano's default rate), and the driving video's header."""
    sound_of(drive, audio)
    driving = probe(drive) if drive is not None else None
    if driving is not None:
        options = options_lasting(options, driving.seconds, round(driving.fps, 3), "the driving video")
    if audio is not None:
        options = options_lasting(options, sound_seconds(audio), DEFAULTS["fps"], "the sound")
    return options, driving


def checked(model: str, options: GenerationOptions, **inputs) -> GenerationOptions:
    """The options a request with nano's ``inputs`` (drive, audio, background: paths or None; say: text)
    plans with; ConfigError when ``model`` is another engine's, one line for an unreadable input."""
    from idvid.render.backdrop import open_backdrop

    given = {name: value for name, value in inputs.items() if value is not None}
    for name in given:
        check_nano(model, *FLAGS[name])
    if "background" in given:
        open_backdrop(given["background"], (64, 64))
    audio = sound_of(given.get("drive"), given.get("audio"), given.get("say"))
    return lasting(options, given.get("drive"), audio)[0]


__all__ = ["checked", "lasting", "sound_of"]
