"""Video files and frames: H.264 mp4 writing, reading, and frame utilities.

PyAV is imported inside the reading and writing functions, and nothing here imports
torch, so ``import idvid.video`` is fast.
"""

from idvid.video.frames import frame_strip, to_uint8
from idvid.video.image import write_image
from idvid.video.reader import VideoClip, iter_frames, read_video
from idvid.video.writer import write_video

__all__ = ["VideoClip", "frame_strip", "iter_frames", "read_video", "to_uint8", "write_image", "write_video"]
