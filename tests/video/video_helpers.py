"""Small clips and files shared by the video tests (unique name: imported by tests)."""

import numpy as np


def smooth_clip(t: int = 6, h: int = 24, w: int = 32) -> np.ndarray:
    """``(t, h, w, 3)`` uint8: gentle gradients that drift a little per frame."""
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    frames = np.empty((t, h, w, 3), np.uint8)
    for i in range(t):
        frames[i, ..., 0] = 40 + 150 * xx / w + 2 * i
        frames[i, ..., 1] = 60 + 120 * yy / h
        frames[i, ..., 2] = 90 + 60 * (xx + yy) / (h + w)
    return frames


def quadrant_frame(h: int = 16, w: int = 32) -> np.ndarray:
    """``(h, w, 3)`` uint8, black with a white top-left quadrant (shows orientation)."""
    frame = np.zeros((h, w, 3), np.uint8)
    frame[: h // 2, : w // 2] = 255
    return frame


def encode_raw(path, frames, fps=16, display_matrix=None, display_rotation=None, audio=False):
    """Encode with PyAV directly (no idvid code), optionally with rotation or audio."""
    import av

    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = "yuv420p"
        if display_matrix is not None:
            stream.set_display_matrix(display_matrix)
        if display_rotation is not None:
            stream.set_display_rotation(display_rotation)
        if audio:
            sound = container.add_stream("aac", rate=8000)
            sound.layout = "mono"
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
        if audio:
            _encode_silence(av, container, sound, 8000)


def write_wav(path, seconds: float = 0.25, rate: int = 8000):
    """An audio-only WAV file (16-bit mono silence) made with PyAV's audio encoder."""
    import av

    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("pcm_s16le", rate=rate)
        stream.layout = "mono"
        _encode_silence(av, container, stream, int(seconds * rate))


def _encode_silence(av, container, stream, samples: int):
    step = stream.codec_context.frame_size or 1024
    for start in range(0, samples, step):
        n = min(step, samples - start)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, n), np.int16), format="s16", layout="mono")
        frame.sample_rate, frame.pts = stream.rate, start
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)
