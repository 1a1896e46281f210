"""``--say``: a line of text spoken by espeak-ng, which nano then speaks like any ``--audio``.

The ``espeakng-loader`` package ships espeak-ng's library and voices, so this works offline with
no system install. The voice is synthetic (formant synthesis): clear enough for lip motion, not a
natural voice. Each line becomes a WAV file in a temporary folder removed when the process ends.
"""

from __future__ import annotations

import atexit
import ctypes
import hashlib
import logging
import shutil
import tempfile
import wave
from functools import lru_cache
from pathlib import Path

import numpy as np

from idvid.errors import ConfigError

logger = logging.getLogger("idvid")

MAX_CHARACTERS = 5000  # about five minutes of speech
_SYNCHRONOUS, _UTF8, _END_PAUSE, _CHARACTER_POSITIONS = 2, 1, 0x1000, 1  # espeak-ng's speak_lib.h
_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


def spoken_line(text: str, voice: str = "en") -> Path:
    """A WAV file of ``text`` spoken by espeak-ng's ``voice``; the same text gives the same file."""
    text = " ".join(str(text).split())
    if not any(ch.isalnum() for ch in text):
        raise ConfigError("--say needs words to speak")
    if any(ord(ch) > 127 and ch.isalpha() for ch in text) and voice == "en":
        logger.warning("--say reads with an English voice: words in other languages come out as English sounds")
    if len(text) > MAX_CHARACTERS:
        raise ConfigError(f"--say takes at most {MAX_CHARACTERS} characters, got {len(text)}")
    path = _folder() / f"say-{hashlib.sha1(f'{voice}|{text}'.encode()).hexdigest()[:16]}.wav"
    if not path.exists():
        samples, rate = _synthesize(text, voice)
        with wave.open(str(path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(rate)
            out.writeframes(samples.tobytes())
    return path


def _synthesize(text: str, voice: str) -> tuple[np.ndarray, int]:
    """(int16 samples, sample rate) of ``text``."""
    library, rate = _espeak()
    chunks: list[np.ndarray] = []

    def collect(samples, count, events) -> int:
        if count > 0:
            chunks.append(np.ctypeslib.as_array(samples, shape=(count,)).copy())
        return 0

    callback = _CALLBACK(collect)  # kept alive for the synthesis
    library.espeak_SetSynthCallback(callback)
    if library.espeak_SetVoiceByName(voice.encode()) != 0:
        raise ConfigError(f"espeak-ng has no voice {voice!r}")
    data = text.encode()
    library.espeak_Synth(data, len(data) + 1, 0, _CHARACTER_POSITIONS, 0, _UTF8 | _END_PAUSE, None, None)
    library.espeak_Synchronize()
    if not chunks:
        raise ConfigError(f"espeak-ng made no sound of {text[:40]!r}")
    return np.concatenate(chunks).astype(np.int16), rate


@lru_cache(maxsize=1)
def _espeak() -> tuple[ctypes.CDLL, int]:
    """espeak-ng's library, initialised once per process for synchronous synthesis."""
    try:
        import espeakng_loader
    except ImportError:
        raise ConfigError("--say needs espeak-ng's library: pip install 'idvid[nano]' (espeakng-loader)") from None
    library = ctypes.CDLL(espeakng_loader.get_library_path())
    library.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    library.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    library.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
                                     ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
    rate = library.espeak_Initialize(_SYNCHRONOUS, 0, str(espeakng_loader.get_data_path()).encode(), 0)
    if rate <= 0:
        raise ConfigError("espeak-ng could not start (its voice data is missing)")
    return library, rate


@lru_cache(maxsize=1)
def _folder() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="idvid-say-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder
