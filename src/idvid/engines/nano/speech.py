"""nano speaking: mouth shapes from a sound file, one value per video frame.

What the renderer can show of a mouth is how far the jaw drops (``mouth_open``) and how far the
lips spread (``smile``, at a fraction). Both are read from the voice's spectrum, frame by frame:

- **Voicing**: the speech band's level against the recording's own floor (its quietest tenth):
  silence closes the mouth whatever the prompt says.
- **Jaw**: loud and with a high first formant (F1, 250-1000 Hz: "ah" is high, "ee" and "oo"
  low) opens wider. Measured as the centroid of that band.
- **Spread**: energy at the second formant's high range (1800-3200 Hz) against the first
  formant's: "ee" and "eh" spread the lips, "ah" and "oo" do not.
- **Rhythm**: where the level jumps (a syllable's onset) the head gives a small nod, for
  prompts that ask for no head motion of their own.

The values are smoothed over ~40 ms, about how fast lips follow the voice.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from idvid.errors import GenerationError
from idvid.render.controls import smooth_in_time

RATE = 16000  # Hz: speech's band fits, and the FFTs stay small
WINDOW = 512  # samples (32 ms)
SPEECH_BAND, F1_BAND, F2_HIGH_BAND = (100, 4000), (250, 1000), (1800, 3200)
VOICED_DB = 12  # above the floor: speech
FULL_DB = 30  # above the floor: the widest the mouth opens
# F2-high over F1 energy (dB) from unspread to fully spread lips; set on formant-synthesised
# vowels ("ah" -4, "ee" -2, "oo" -9.5, "oh" -8.5 dB), as no recorded speech ships offline
SPREAD_DB = (-6.0, -1.0)
SPREAD_AS_SMILE = 0.45  # lips spread by a vowel: this much of a full smile
ONSET_DB = 6  # a level rise within 60 ms this large is a syllable's onset
NOD_DEGREES = 2.5
SMOOTH_SECONDS = 0.04


@dataclass(frozen=True)
class Speech:
    """Per video frame: mouth_open 0..1, spread 0..1 (lips drawn sideways), nod in degrees (pitch)."""

    mouth_open: np.ndarray
    spread: np.ndarray
    nod: np.ndarray


def sound_seconds(path: str | Path) -> float:
    """The length of ``path``'s first sound stream; GenerationError (one line) for a file
    without one or that PyAV cannot read."""
    import av

    from idvid.video.reader import error_reason, stream_seconds

    if not Path(path).is_file():
        raise GenerationError(f"{path}: no such file")
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise GenerationError(f"{path} holds no sound")
            seconds = stream_seconds(container, container.streams.audio[0])
    except (av.error.FFmpegError, OSError) as err:
        raise GenerationError(f"{path}: not a readable sound file ({error_reason(err)})") from None
    if not seconds:
        raise GenerationError(f"{path}: its header gives no length")
    return seconds


def read_sound(path: str | Path) -> np.ndarray:
    """The first sound stream as mono float32 samples at RATE."""
    import av

    resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
    chunks = []
    with av.open(str(path)) as container:
        for frame in container.decode(container.streams.audio[0]):
            chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
    chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    return np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(1, np.float32)


def speech_motion(samples: np.ndarray, num_frames: int, fps: float) -> Speech:
    """Mouth and nod values for ``num_frames`` video frames at ``fps`` from mono samples at RATE."""
    spectra = _spectra(samples, num_frames, fps)
    freqs = np.fft.rfftfreq(WINDOW, 1 / RATE)

    def band(low, high):
        return (freqs >= low) & (freqs < high)

    level = 10 * np.log10(spectra[:, band(*SPEECH_BAND)].sum(1) + 1e-10)
    above = level - np.percentile(level, 10)
    loud = np.clip((above - VOICED_DB) / (FULL_DB - VOICED_DB), 0, 1)
    f1 = band(*F1_BAND)
    centroid = (spectra[:, f1] * freqs[f1]).sum(1) / (spectra[:, f1].sum(1) + 1e-10)
    jaw = np.clip((centroid - F1_BAND[0]) / (F1_BAND[1] - F1_BAND[0]), 0, 1)
    f2_over_f1 = 10 * np.log10((spectra[:, band(*F2_HIGH_BAND)].sum(1) + 1e-10) / (spectra[:, f1].sum(1) + 1e-10))
    spread = np.clip((f2_over_f1 - SPREAD_DB[0]) / (SPREAD_DB[1] - SPREAD_DB[0]), 0, 1) * (loud > 0)
    mouth = loud * (0.35 + 0.65 * jaw)
    lag = max(1, round(0.06 * fps))
    onsets = np.flatnonzero((above[lag:] - above[:-lag] > ONSET_DB) & (loud[lag:] > 0)) + lag
    nod = np.zeros(num_frames)
    times = np.arange(num_frames) / fps
    for onset in onsets[np.diff(np.r_[-10 * fps, onsets]) > 0.25 * fps]:  # at most four a second
        nod -= NOD_DEGREES * np.exp(-0.5 * ((times - onset / fps - 0.08) / 0.08) ** 2)  # chin dips
    return Speech(*(smooth_in_time(v, SMOOTH_SECONDS * fps) for v in (mouth, spread)), nod)


def _spectra(samples: np.ndarray, num_frames: int, fps: float) -> np.ndarray:
    """(num_frames, WINDOW // 2 + 1) power spectra of windows centred on each video frame."""
    padded = np.pad(samples, WINDOW)
    centres = (np.arange(num_frames) / fps * RATE).astype(int) + WINDOW
    starts = np.clip(centres - WINDOW // 2, 0, len(padded) - WINDOW)
    windows = padded[starts[:, None] + np.arange(WINDOW)] * np.hanning(WINDOW)
    return np.abs(np.fft.rfft(windows, axis=1)) ** 2


__all__ = ["SPREAD_AS_SMILE", "Speech", "read_sound", "sound_seconds", "speech_motion"]
