"""Photo -> mesh -> posed, expressive, relit frame on a scene (for ``idvid synth`` and ``nano``).

Light imports: names load on first use, and nothing here imports MediaPipe or torch (OpenCV
and MediaPipe load inside the functions that need them).
"""

from typing import TYPE_CHECKING

from idvid.lazy import lazy_exports

_LAZY = {
    "CONTROL_NAMES": "idvid.render.controls",
    "ControlTrack": "idvid.render.controls",
    "FrameControls": "idvid.render.controls",
    "Light": "idvid.render.lighting",
    "NAMED_COLOURS": "idvid.render.scene",
    "SCENE_KINDS": "idvid.render.scene",
    "SceneSpec": "idvid.render.scene",
    "render_scene": "idvid.render.scene",
    "Portrait": "idvid.render.portrait",
    "PortraitRenderer": "idvid.render.renderer",
    "person_mask": "idvid.render.person",
}

__all__ = [
    "CONTROL_NAMES",
    "NAMED_COLOURS",
    "SCENE_KINDS",
    "ControlTrack",
    "FrameControls",
    "Light",
    "Portrait",
    "PortraitRenderer",
    "SceneSpec",
    "person_mask",
    "render_scene",
]
assert sorted(__all__) == sorted(_LAZY)

if TYPE_CHECKING:  # pragma: no cover
    from idvid.render.controls import CONTROL_NAMES, ControlTrack, FrameControls
    from idvid.render.lighting import Light
    from idvid.render.person import person_mask
    from idvid.render.portrait import Portrait
    from idvid.render.renderer import PortraitRenderer
    from idvid.render.scene import NAMED_COLOURS, SCENE_KINDS, SceneSpec, render_scene

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
