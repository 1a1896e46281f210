"""Make the README's frame strips with the default engine: python docs/make_strips.py

Writes docs/strips/<n>.png (8 frames of each video) and prints the README table rows,
docs/strips/drive.png: a driving video (top) and the astronaut driven by it (bottom), and
docs/strips/background.png: Grace Hopper on two backgrounds of the user's, relit to each.
"""

import tempfile
from pathlib import Path

import numpy as np

from idvid.engines import load_engine
from idvid.face import FaceAnalyzer, load_photo
from idvid.render import Portrait, PortraitRenderer
from idvid.render.controls import CONTROL_NAMES, NEUTRAL, ControlTrack
from idvid.video import frame_strip, write_image, write_video

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = [
    ("astronaut.jpg", "a woman turns to her left and smiles, on a beach at sunset"),
    ("grace_hopper.jpg", "she nods in agreement in a snowy forest"),
    ("astronaut.jpg", "a person shakes their head in disagreement in an office"),
    ("grace_hopper.jpg", "she looks up at the sky at night"),
    ("astronaut.jpg", "she talks and laughs in front of a striped blue and white wall"),
    ("grace_hopper.jpg", "the camera zooms in as she tilts her head to the right, in front of a red wall"),
    ("grace_hopper.jpg", "she smiles on a city street at night, in the rain"),
    ("astronaut.jpg", "a woman nods slowly in the foggy mountains"),
]


def main() -> None:
    engine = load_engine("nano")
    engine.set_progress_bar_config(disable=True)
    for number, (photo, prompt) in enumerate(EXAMPLES, 1):
        video = engine(prompt=prompt, faces=[ROOT / "assets" / photo], num_frames=49, seed=0)
        path = write_image(frame_strip(video.frames, n=8, height=128), ROOT / "docs" / "strips" / f"{number}.png",
                           overwrite=True)
        print(f"| `{photo}` | {prompt} | ![]({path.relative_to(ROOT)}) |")
    driven_strip(engine)
    background_strip(engine)


def background_strip(engine) -> None:
    """Grace Hopper in front of a warm sunlit gradient and a dark blue wall, relit to each."""
    y = np.linspace(0, 1, 180)[:, None, None]
    warm = np.clip(np.array([250, 190, 90]) * (1 - 0.35 * y) + np.array([0, 0, 30]) * y, 0, 255)
    walls = [np.broadcast_to(warm, (180, 320, 3)).astype(np.uint8), np.full((180, 320, 3), (25, 40, 100), np.uint8)]
    strips = []
    with tempfile.TemporaryDirectory() as folder:
        for index, wall in enumerate(walls):
            path = write_image(wall, Path(folder) / f"wall{index}.png")
            video = engine(prompt="she nods", faces=[ROOT / "assets" / "grace_hopper.jpg"], background=path,
                           num_frames=49, seed=0).frames
            strips.append(frame_strip(video, n=8, height=128))
    path = write_image(np.concatenate(strips), ROOT / "docs" / "strips" / "background.png", overwrite=True)
    print(f"![]({path.relative_to(ROOT)})")


def driven_strip(engine, fps: int = 20, seconds: float = 3.0) -> None:
    """Grace turning, looking up and talking (rendered from her photo by a known control track)
    drives the astronaut on a beach."""
    t = np.arange(int(fps * seconds)) / fps
    values = np.tile(NEUTRAL.to_array(), (len(t), 1))
    values[:, CONTROL_NAMES.index("yaw")] = 22 * np.sin(2 * np.pi * t / seconds)
    values[:, CONTROL_NAMES.index("pitch")] = 10 * np.sin(2 * np.pi * t / (seconds / 2))
    values[:, CONTROL_NAMES.index("mouth_open")] = 0.8 * np.clip(np.sin(2 * np.pi * t / 0.75), 0, 1)
    grace = load_photo(ROOT / "assets" / "grace_hopper.jpg")
    renderer = PortraitRenderer(Portrait.from_observation(grace, FaceAnalyzer().analyze(grace)), (256, 256), None)
    driving = renderer.render_track(ControlTrack(values), fps=fps)
    with tempfile.TemporaryDirectory() as folder:
        source = write_video(driving, Path(folder) / "drive.mp4", fps=fps)
        driven = engine(prompt="on a beach at sunset", faces=[ROOT / "assets" / "astronaut.jpg"], drive=source).frames
    strips = [frame_strip(video, n=8, height=128) for video in (driving, driven)]
    path = write_image(np.concatenate(strips), ROOT / "docs" / "strips" / "drive.png", overwrite=True)
    print(f"![]({path.relative_to(ROOT)})")


if __name__ == "__main__":
    main()
