"""PortraitRenderer: one frame of the person, posed, expressive and relit, on a scene.

Per video (constructor): framing, the working-resolution person layer (colours + alpha),
the scene image, the warp rig (anchors) and the sampling grids. Per frame (:meth:`render`):
pose the mesh, fit the warp spline (~2 ms), build the maps, one cv2.remap of the person
layer, the mouth cavity, lighting, composite over the scene.

The camera (zoom, pan) acts on the whole composite. It is folded into the person's remap
and a warpAffine of the scene, which equals warping the finished composite but resamples
the photo only once.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cache

import numpy as np

from idvid.render.anchors import BodyPose
from idvid.render.controls import ControlTrack, FrameControls, clamp_control
from idvid.render.deform import pose_mesh
from idvid.render.framing import (
    apply_affine,
    compose_affine,
    frame_photo,
    invert_affine,
)
from idvid.render.lighting import Light, side_ramp, side_shading
from idvid.render.mouth import draw_cavity
from idvid.render.portrait import Portrait
from idvid.render.sampler import DenseSampler, feature_windows
from idvid.render.scene import SceneSpec, render_scene
from idvid.render.scene_weather import overlay
from idvid.render.warp import WarpRig

SOURCE_OVERSAMPLE = 1.5  # keep the person layer this much sharper than the output (for zoom)


class PortraitRenderer:
    """Draws frames of one portrait at one output size on one scene.

    size: (H, W) output pixels, any aspect; scene: what stands behind the person;
    face_fraction: face height (forehead to chin) over frame height at neutral controls;
    seed: scene layout randomness; backdrop: the user's own background
    (:mod:`idvid.render.backdrop`, at ``size``) in place of the scene's picture (the scene's
    light still lights the person).
    """

    def __init__(
        self,
        portrait: Portrait,
        size: tuple[int, int] = (256, 256),
        scene: SceneSpec | None = None,
        face_fraction: float = 0.38,
        seed: int = 0,
        backdrop=None,
    ):
        import cv2

        height, width = int(size[0]), int(size[1])
        if height < 32 or width < 32:
            raise ValueError(f"output size must be at least 32x32, got {size}")
        self.portrait = portrait
        self.size = (height, width)
        self.scene = scene or SceneSpec("photo")
        self.seed = int(seed)
        self.backdrop = backdrop
        # 1. framing: photo -> stage (the output frame at neutral controls)
        self.stage_from_photo = frame_photo(portrait.vertices, portrait.size, self.size, face_fraction)
        scale = float(self.stage_from_photo[0, 0])
        # 2. the person layer at working resolution: never much finer than the output needs
        k = min(1.0, SOURCE_OVERSAMPLE * scale)
        layer = np.dstack([portrait.foreground, np.clip(portrait.mask * 255.0 + 0.5, 0, 255).astype(np.uint8)])
        if k < 1.0:
            layer = cv2.resize(layer, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
        self.layer = np.ascontiguousarray(layer)
        self.working_from_photo = np.array([[k, 0.0, 0.5 * (k - 1)], [0.0, k, 0.5 * (k - 1)]])
        self.working_from_stage = compose_affine(self.working_from_photo, invert_affine(self.stage_from_photo))
        # 3. stage geometry: the photo's mesh, skull centre, face size, the head's anchors
        self.stage_mesh = apply_affine(self.stage_from_photo, portrait.vertices[:, :2])
        self.stage_centre = apply_affine(self.stage_from_photo, portrait.head.centre[None, :2])[0]
        self.face_height = portrait.face_height * scale
        stage_mask = cv2.warpAffine(portrait.mask, self.stage_from_photo, (width, height), flags=cv2.INTER_LINEAR)
        self.rig = WarpRig.build(
            self.stage_mesh,
            self._stage_3d(portrait.head.pivot),
            self._stage_3d(portrait.head.centre),
            self.size,
            stage_mask,
        )
        self.sampler = DenseSampler(self.size)
        self.source_gap = float(np.linalg.norm(self.stage_mesh[14] - self.stage_mesh[13]))
        # 4. background and light
        self._plate = None  # the photo's own background, on the stage
        if self.scene.kind == "photo" and backdrop is None:
            self._plate = cv2.warpAffine(
                portrait.plate,
                self.stage_from_photo,
                (width, height),
                flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_REFLECT_101,
            )
        still = backdrop is None and not self.scene.moves
        self._scene_still = render_scene(self.scene, self.size, 0.0, self.seed, self._plate, falling=False) if still else None

    # ---- frames ------------------------------------------------------------------------------

    def render(self, controls: FrameControls | None = None, t: float = 0.0) -> np.ndarray:
        """controls: this frame's FrameControls (neutral if None); t: seconds (animates the
        scene) -> (H, W, 3) uint8 RGB frame."""
        return self._draw(controls or FrameControls(), t, self._backdrop_frame(t))

    def _draw(self, c: FrameControls, t: float, backdrop_frame: np.ndarray | None) -> np.ndarray:
        """:meth:`render`, given the backdrop's frame at ``t`` (read in order by the caller):
        nothing else changes the renderer, so frames can be drawn in parallel."""
        import cv2

        # 1.-2. the posed face mesh on the stage; person placement and camera as affines
        posed, out_from_stage, target_stage, rigid_stage = self._pose(c)
        body = BodyPose.following(clamp_control("yaw", c.yaw), clamp_control("roll", c.roll), t, self.face_height)
        field = self.rig.field(target_stage, posed.visible, posed.motion, posed.roll, rigid_stage, body)
        stage_from_out = invert_affine(out_from_stage)
        target_out = apply_affine(out_from_stage, target_stage)
        face_out = self.face_height * float(out_from_stage[0, 0])
        windows = feature_windows(target_out, face_out)
        # 3. one remap of the person layer (colours + alpha)
        map_x, map_y = self.sampler.maps(stage_from_out, field, self.working_from_stage, windows)
        person = cv2.remap(self.layer, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        rgb = person[..., :3].astype(np.float32)
        # 4. the open mouth's cavity
        if c.mouth_open > 0:
            draw_cavity(rgb, target_out, self.source_gap * float(out_from_stage[0, 0]), c.mouth_open)
        # 5. light: the scene's preset then this frame's change, on the person (colour gains and
        # the side gradient as one (1, W, 3) row); the frame's change alone on the scene (the
        # preset is already painted into it)
        frame_light = Light(c.light_gain, c.light_warmth, c.light_dir)
        person_light = self.scene.lighting.then(frame_light)
        gains = person_light.channel_gains()
        if person_light.direction:
            # The shading gradient is centred on the head wherever placement and camera put it.
            head_x = float(apply_affine(out_from_stage, self.stage_centre[None])[0, 0])
            ramp = side_ramp((1, self.size[1]), head_x, 1.2 * face_out)[..., None]
            gains = side_shading(person_light.direction, ramp) * gains
        rgb *= gains
        background = self._background(t, self._camera(c), backdrop_frame)
        background = np.multiply(background, Light(c.light_gain, c.light_warmth).channel_gains(), dtype=np.float32)
        # 6. composite: alpha * person + (1 - alpha) * background, rounded (OpenCV: one pass each)
        alpha = person[..., 3].astype(np.float32)
        alpha *= 1.0 / 255.0
        frame = cv2.convertScaleAbs(cv2.blendLinear(rgb, background, alpha, 1.0 - alpha))
        # 7. rain and snow fall in front of the person as well as behind
        if self.scene.falling is not None and self.backdrop is None:
            frame = overlay(frame, self.scene.falling, t, self.seed)
        return frame

    def render_track(
        self, track: ControlTrack, progress: Callable[[int, int], None] | None = None, fps: float = 8.0
    ) -> np.ndarray:
        """track: T frames of controls -> (T, H, W, 3) uint8 RGB video; progress(done, total)
        is called after each frame; frame i is rendered at t = i / fps."""
        frames = np.empty((len(track),) + self.size + (3,), dtype=np.uint8)
        for i, frame in enumerate(self.iter_frames(track, progress, fps)):
            frames[i] = frame
        return frames

    def iter_frames(
        self,
        track: ControlTrack,
        progress: Callable[[int, int], None] | None = None,
        fps: float = 8.0,
        threads: int | None = None,
    ) -> Iterator[np.ndarray]:
        """As :meth:`render_track`, one (H, W, 3) frame at a time, in order, drawn a few frames
        ahead of the reader by ``threads`` threads (default: one per core, at most 4; numpy and
        OpenCV draw outside Python's lock). The frames do not depend on ``threads``."""
        if not isinstance(track, ControlTrack):
            track = ControlTrack(np.asarray(track))
        threads = threads or render_threads()
        pool = ThreadPoolExecutor(threads, thread_name_prefix="idvid-render")
        try:
            # Why one BLAS thread while drawing: the spline's products are too small to gain
            # from more, and idle BLAS threads spin on the cores other frames and the encoder need.
            with _blas().limit(limits=1, user_api="blas"):
                drawing = (pool.submit(self._draw, controls, i / fps, self._backdrop_frame(i / fps))
                           for i, controls in enumerate(track))
                for done, future in enumerate(_ahead(drawing, 2 * threads), start=1):
                    frame = future.result()
                    if progress is not None:
                        progress(done, len(track))
                    yield frame
        finally:  # a reader that stops early leaves no frame drawing
            pool.shutdown(cancel_futures=True)

    def face_box(self, controls: FrameControls | None = None) -> np.ndarray:
        """(4,) x, y, w, h in output pixels of the face mesh's bounding box in the frame that
        ``controls`` render (where the face is, for face-weighted training losses)."""
        _, out_from_stage, target_stage, _ = self._pose(controls or FrameControls())
        points = apply_affine(out_from_stage, target_stage)
        low, high = points.min(axis=0), points.max(axis=0)
        return np.array([low[0], low[1], high[0] - low[0], high[1] - low[1]])

    # ---- pieces ------------------------------------------------------------------------------

    def _pose(self, c: FrameControls) -> tuple:
        """-> (PosedMesh, (2, 3) stage -> output affine, (478, 2) target and rigid mesh on the stage)."""
        if not np.all(np.isfinite(c.to_array())):
            raise ValueError(f"frame controls must be finite, got {c}")
        posed = pose_mesh(
            self.portrait.head,
            self.portrait.vertices,
            c.yaw,
            c.pitch,
            c.roll,
            c.smile,
            c.mouth_open,
            c.blink,
            c.brow_raise,
            source_visible=self.portrait.source_visible,
        )
        target_stage = apply_affine(self.stage_from_photo, posed.vertices[:, :2])
        rigid_stage = apply_affine(self.stage_from_photo, posed.rigid[:, :2])
        out_from_stage = compose_affine(self._camera(c), self._placement(c))
        return posed, out_from_stage, target_stage, rigid_stage

    def _stage_3d(self, point: np.ndarray) -> np.ndarray:
        """(3,) photo-pixel point -> (3,) stage point (x, y framed; z scaled alike)."""
        xy = apply_affine(self.stage_from_photo, np.asarray(point)[None, :2])[0]
        return np.array([xy[0], xy[1], float(point[2]) * float(self.stage_from_photo[0, 0])])

    def _placement(self, c: FrameControls) -> np.ndarray:
        """(2, 3) stage -> composite: scale about the skull centre, then shift by face heights."""
        s = float(np.clip(c.scale, 0.2, 5.0))
        cx, cy = self.stage_centre
        tx, ty = c.tx * self.face_height, c.ty * self.face_height
        return np.array([[s, 0.0, cx - s * cx + tx], [0.0, s, cy - s * cy + ty]])

    def _camera(self, c: FrameControls) -> np.ndarray:
        """(2, 3) composite -> output: the camera looks at centre + pan and magnifies by zoom."""
        height, width = self.size
        z = float(np.clip(c.zoom, 0.2, 5.0))
        cx, cy = 0.5 * width, 0.5 * height
        px, py = cx + c.pan_x * width, cy + c.pan_y * height
        return np.array([[z, 0.0, cx - z * px], [0.0, z, cy - z * py]])

    def _backdrop_frame(self, t: float) -> np.ndarray | None:
        """The user's backdrop at ``t`` (a video's frames are read in order, by one thread)."""
        return None if self.backdrop is None else self.backdrop.frame(t)

    def _background(self, t: float, camera: np.ndarray, backdrop_frame: np.ndarray | None) -> np.ndarray:
        """(H, W, 3) uint8 scene as the camera sees it (tx/ty/scale move only the person)."""
        import cv2

        height, width = self.size
        if backdrop_frame is not None:
            still = backdrop_frame
        elif self._scene_still is not None:
            still = self._scene_still
        else:
            still = render_scene(self.scene, self.size, t, self.seed, self._plate, falling=False)
        if not np.allclose(camera, [[1, 0, 0], [0, 1, 0]], atol=1e-9):
            still = cv2.warpAffine(
                still, camera, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101
            )
        return still



def _ahead(futures: Iterator[Future], depth: int) -> Iterator[Future]:
    """``futures`` in order, each handed out once ``depth`` more have been started."""
    pending: deque[Future] = deque()
    for future in futures:
        pending.append(future)
        if len(pending) > depth:
            yield pending.popleft()
    yield from pending


def render_threads() -> int:
    """Threads that draw frames: one per core this process may use, at most 4 (beyond that
    Python's lock is the limit)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(4, cores))


@cache
def _blas():
    """numpy's BLAS libraries, to hold at one thread while frames are drawn (without it, 2.9 of
    7.8 CPU-seconds for 240 frames at 512x512 on 2 cores were its threads spinning)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()
