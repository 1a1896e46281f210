"""Make the README's frame strips with the default engine: python docs/make_strips.py

Writes docs/strips/<n>.png (8 frames of each video) and prints the README table rows.
"""

from pathlib import Path

from idvid.engines import load_engine
from idvid.video import frame_strip, write_image

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = [
    ("astronaut.jpg", "a woman turns to her left and smiles, on a beach at sunset"),
    ("grace_hopper.jpg", "she nods in agreement in a snowy forest"),
    ("astronaut.jpg", "a person shakes their head in disagreement in an office"),
    ("grace_hopper.jpg", "she looks up at the sky at night"),
    ("astronaut.jpg", "she talks and laughs in front of a striped blue and white wall"),
    ("grace_hopper.jpg", "the camera zooms in as she tilts her head to the right, in front of a red wall"),
]


def main() -> None:
    engine = load_engine("nano")
    engine.set_progress_bar_config(disable=True)
    for number, (photo, prompt) in enumerate(EXAMPLES, 1):
        video = engine(prompt=prompt, faces=[ROOT / "assets" / photo], num_frames=49, seed=0)
        path = write_image(frame_strip(video.frames, n=8, height=128), ROOT / "docs" / "strips" / f"{number}.png",
                           overwrite=True)
        print(f"| `{photo}` | {prompt} | ![]({path.relative_to(ROOT)}) |")


if __name__ == "__main__":
    main()
