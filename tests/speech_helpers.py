"""Speech-like sound for the tests (unique name: imported by tests): vowels made by a formant
model (a 120 Hz voice through resonances at the vowel's F1 and F2), silences, a wav writer."""

import av
import numpy as np

RATE = 16000
VOWELS = {"ah": (800, 1200), "ee": (300, 2300), "eh": (500, 1900), "oo": (350, 800)}


def vowel(name: str, seconds: float, f0: float = 120) -> np.ndarray:
    f1, f2 = VOWELS[name]
    t = np.arange(int(seconds * RATE)) / RATE
    out = np.zeros_like(t)
    for k in range(1, int(4000 / f0)):
        f = k * f0
        gain = sum(1 / (1 + ((f - centre) / width) ** 2) for centre, width in ((f1, 90), (f2, 120), (2800, 150)))
        out += gain / k ** 0.5 * np.sin(2 * np.pi * f * t + k)
    return 0.5 * out / np.abs(out).max()


def silence(seconds: float) -> np.ndarray:
    return np.random.default_rng(0).normal(0, 0.002, int(seconds * RATE))


def write_wav(samples: np.ndarray, path) -> str:
    pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=RATE, layout="mono")
        frame = av.AudioFrame.from_ndarray(pcm[None], format="s16", layout="mono")
        frame.rate = RATE
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    return str(path)
