"""One synthetic clip: motion program -> controls, scene, clothing, render, reference views, face
statistics. Pure function of (identity, clip seed, options); :mod:`idvid.data.synth` runs it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from idvid.errors import FaceError
from idvid.render.framing import FACE_FRACTION

# Reference views: one per yaw bin (degrees, absolute head yaw), so a set spans the head's turn.
REF_YAW_BINS = ((-40.0, -15.0), (-10.0, 10.0), (15.0, 40.0), (-25.0, 25.0))
REF_MIN_SIZE = 224  # references are rendered at least this large (a usable face for the recogniser)
FACE_STAT_FRAMES = 5  # frames analysed per clip for the face statistics
DECIMALS = 5


@dataclass(frozen=True)
class ClipOptions:
    size: int = 128
    num_frames: int = 17
    ref_views: int = 3
    face_fraction: float = FACE_FRACTION  # face height over frame height (larger: a close-up)


def round_floats(value, decimals: int = DECIMALS):
    """Nested lists/dicts/arrays -> JSON-able with floats rounded (byte-stable metadata)."""
    if isinstance(value, dict):
        return {str(k): round_floats(v, decimals) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [round_floats(v, decimals) for v in value]
    if isinstance(value, np.ndarray):
        return round_floats(value.tolist(), decimals)
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return round(float(value), decimals)
    return value


def render_clip(portrait, identity, clip_seed, options: ClipOptions, analyzer, heldout: bool):
    """-> (frames (T, S, S, 3) uint8, refs dict, meta dict) for one clip of ``identity``.

    portrait: the identity's Portrait (shared between its clips); clip_seed: a seed sequence
    (list of ints) that fixes everything random about the clip."""
    from idvid.data.synth_scene import (
        compose_caption,
        recolour_clothing,
        sample_clothing,
        sample_scene,
    )
    from idvid.engines.nano.captions import write_caption
    from idvid.engines.nano.motion_actions import CLIP_SECONDS
    from idvid.engines.nano.motion_programs import realise, sample_steps
    from idvid.render import ControlTrack, PortraitRenderer
    from idvid.render.controls import CONTROL_NAMES

    rng = np.random.default_rng(clip_seed)
    # 1. motion: a program realised at num_frames over the nominal clip length
    pose = identity.observation.pose
    reference_pose = (pose.yaw, pose.pitch, pose.roll)
    steps = sample_steps(rng)
    motion_caption = write_caption(steps, rng, heldout=False)
    values, program = realise(steps, rng, reference_pose, frames=options.num_frames)
    fps = float(options.num_frames) / float(CLIP_SECONDS)
    # 2. scene, light, clothing
    scene, scene_phrase = sample_scene(rng)
    clothing = sample_clothing(rng)
    dressed = recolour_clothing(portrait, clothing) if clothing else portrait
    caption = compose_caption(motion_caption, scene_phrase, clothing)
    render_seed = int(rng.integers(2**31))
    # 3. render
    size = (options.size, options.size)
    renderer = PortraitRenderer(dressed, size, scene, options.face_fraction, seed=render_seed)
    track = ControlTrack(values)
    frames = renderer.render_track(track, fps=fps)
    face_boxes = np.array([renderer.face_box(c) for c in track]) / options.size
    # 4. reference views: the same person (same scene and clothes) at other poses and expressions
    refs = render_references(dressed, scene, render_seed, options, rng, analyzer, reference_pose)
    # 5. face statistics on a few frames
    stats = face_statistics(frames, refs["embeddings"], analyzer)
    meta = {
        "caption": caption,
        "identity": identity.id,
        "source": "synth",
        "split": "heldout" if heldout else "train",
        "scene": {"kind": scene.kind, "colours": list(scene.colours), "phrase": scene_phrase,
                  "light": [scene.lighting.gain, scene.lighting.warmth, scene.lighting.direction]},
        "clothing": clothing,
        "face_stats": stats,
        "face_boxes": face_boxes,
        "ref_poses": refs["poses"],
    }
    if heldout:
        meta["controls"] = values
        meta["control_names"] = list(CONTROL_NAMES)
        meta["program"] = {**program, "motion_caption": motion_caption}
    return frames, refs, round_floats(meta), fps


def render_references(portrait, scene, render_seed, options, rng, analyzer, reference_pose) -> dict:
    """K renders of the portrait spread over yaw bins, analysed -> the refs dict (frame_indices -1)."""
    from idvid.render import FrameControls, PortraitRenderer

    ref_size = max(options.size, REF_MIN_SIZE)
    renderer = PortraitRenderer(portrait, (ref_size, ref_size), scene, seed=render_seed)
    order = rng.permutation(len(REF_YAW_BINS))
    views = {k: [] for k in ("crops", "embeddings", "vertices", "poses")}
    for k in range(options.ref_views):
        low, high = REF_YAW_BINS[order[k % len(order)]]
        for _ in range(4):  # a view without a usable face (rare) is re-drawn
            yaw = rng.uniform(low, high)
            controls = FrameControls(
                yaw=float(yaw - reference_pose[0]), pitch=float(rng.uniform(-12, 12) - reference_pose[1]),
                roll=float(rng.uniform(-6, 6)), smile=float(rng.uniform(0, 0.6) if rng.random() < 0.5 else 0.0),
                mouth_open=float(rng.uniform(0, 0.3) if rng.random() < 0.3 else 0.0),
                brow_raise=float(rng.uniform(-0.3, 0.5) if rng.random() < 0.3 else 0.0),
            )
            try:
                obs = analyzer.analyze(renderer.render(controls))
            except FaceError:
                continue
            views["crops"].append(obs.crop)
            views["embeddings"].append(obs.embedding)
            views["vertices"].append(obs.vertices)
            views["poses"].append([obs.pose.yaw, obs.pose.pitch, obs.pose.roll])
            break
    if not views["crops"]:
        raise FaceError("no reference view of this identity had a usable face")
    refs = {k: np.asarray(v) for k, v in views.items()}
    refs["frame_indices"] = np.full(len(refs["crops"]), -1, dtype=np.int64)
    return refs


def face_statistics(frames: np.ndarray, ref_embeddings: np.ndarray, analyzer) -> dict:
    """Face size, detection rate and reference-vs-frame SFace similarity on up to
    FACE_STAT_FRAMES evenly spaced frames."""
    from idvid.face import SAME_PERSON_THRESHOLD

    picks = np.unique(np.linspace(0, len(frames) - 1, min(FACE_STAT_FRAMES, len(frames))).round().astype(int))
    sizes, sims = [], []
    for i in picks:
        try:
            obs = analyzer.analyze(frames[i])
        except FaceError:
            continue
        sizes.append(obs.detection.size)
        sims.extend((ref_embeddings @ obs.embedding).tolist())
    sims_arr = np.asarray(sims, dtype=np.float64)
    return {
        "frames_checked": len(picks),
        "detection_rate": len(sizes) / len(picks),
        "mean_face_size": float(np.mean(sizes)) if sizes else 0.0,
        "ref_frame_similarity_mean": float(sims_arr.mean()) if sims else None,
        "ref_frame_similarity_min": float(sims_arr.min()) if sims else None,
        "ref_frame_above_threshold": float((sims_arr >= SAME_PERSON_THRESHOLD).mean()) if sims else None,
        "ref_frame_similarities": sims_arr.tolist(),
    }
