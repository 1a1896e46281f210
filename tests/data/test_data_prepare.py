"""idvid prepare on videos made inside the test: a two-shot video with a cut, a faceless video,
a corrupt file, an empty file, an audio-only file; resume from the ledger; landscape and portrait
videos into size buckets of their shape."""

from __future__ import annotations

import contextlib
import json

import numpy as np
import pytest

from idvid.data.prepare import LEDGER_NAME, PrepareOptions, prepare, resample
from idvid.data.shots import shot_boundaries
from idvid.data.store import ClipStore
from idvid.video import write_video

OPTIONS = PrepareOptions(fps=8, clip_frames=12, min_clip_frames=8, size=96, num_refs=3, ref_candidates=6)


def _render(photo, obs, frames=16, scene="solid", shape=(192, 192)):
    from idvid.render import ControlTrack, Portrait, PortraitRenderer, SceneSpec

    track = np.tile(ControlTrack.neutral(1).values, (frames, 1))
    track[:, 0] = np.linspace(-20, 20, frames)  # a head turn: references spread over yaw
    colour = "blue" if scene == "solid" else "red"
    renderer = PortraitRenderer(Portrait.from_observation(photo, obs), shape, SceneSpec("solid", colour))
    return renderer.render_track(ControlTrack(track), fps=8)


@pytest.fixture(scope="module")
def sources(tmp_path_factory, astronaut, astronaut_obs, grace, grace_obs):
    src = tmp_path_factory.mktemp("src")
    two_shots = np.concatenate([_render(astronaut, astronaut_obs), _render(grace, grace_obs, scene="red")])
    write_video(two_shots, src / "two_shots.mp4", fps=8)
    (src / "captions.jsonl").write_text(json.dumps({"video": "two_shots.mp4", "caption": "from the index"}) + "\n")
    (src / "two_shots.txt").write_text("two people, one after the other, turn their heads\n")
    faceless = np.zeros((16, 96, 96, 3), np.uint8)
    faceless[..., 2] = np.linspace(60, 120, 16, dtype=np.uint8)[:, None, None]
    write_video(faceless, src / "faceless.mp4", fps=8)
    (src / "corrupt.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    (src / "empty.mp4").write_bytes(b"")
    with contextlib.suppress(Exception):  # an FFmpeg build without an AAC encoder: that case is skipped
        _write_audio_only(src / "audio.m4a")
    return src


def _write_audio_only(path):
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=16000)
        samples = (np.sin(np.arange(16000) / 10) * 0.1).astype(np.float32)[None]
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate = 16000
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def test_shot_cut_found(astronaut, astronaut_obs, grace, grace_obs):
    video = np.concatenate([_render(astronaut, astronaut_obs, 10), _render(grace, grace_obs, 10, "red")])
    assert shot_boundaries(video) == [(0, 10), (10, 20)]
    assert resample(np.zeros((30, 1)), 30.0, 8.0).tolist() == [0, 4, 8, 11, 15, 19, 22, 26]


def test_prepare_keeps_faces_and_drops_the_rest(sources, tmp_path, analyzer):
    from idvid.data.shots import iou

    out = tmp_path / "ds"
    report = prepare(sources, out, OPTIONS, progress=False)
    dropped = report["dropped_sources"]
    assert report["kept"] == 1 and report["clips"] == 2  # one clip per shot, none across the cut
    assert any("faceless" in s and "no face" in r for s, r in dropped.items())
    assert any("corrupt" in s and r.startswith("unreadable") for s, r in dropped.items())
    assert any("empty" in s and r.startswith("unreadable") for s, r in dropped.items())
    if (sources / "audio.m4a").exists():
        assert any("audio" in s and r.startswith("unreadable") for s, r in dropped.items())
    store = ClipStore(out)
    metas = store.clips()
    assert {m["identity"] for m in metas} == {"two_shots#0", "two_shots#1"}
    assert {m["caption"] for m in metas} == {"two people, one after the other, turn their heads"}  # sidecar wins
    assert report["uncaptioned"] == []
    embeddings = []
    for meta in metas:
        frames, refs, _ = store.read_clip(meta["clip_id"])
        assert frames.shape[1:] == (96, 96, 3) and 8 <= len(frames) <= 12  # a square source, the square bucket
        assert len(refs["crops"]) >= 2 and (refs["frame_indices"] >= 0).all()
        assert (refs["frame_indices"] < len(frames)).all()
        assert meta["face_stats"]["ref_frame_similarity_mean"] > 0.363
        boxes = np.asarray(meta["face_boxes"]) * 96  # each frame's face, in the clip's pixels
        assert boxes.shape == (len(frames), 4)
        detected = analyzer.detect(frames[len(frames) // 2])[0].box
        assert iou(boxes[len(frames) // 2], detected) > 0.5
        yaws = refs["poses"][:, 0]
        assert yaws.max() - yaws.min() > 10  # spread over pose
        embeddings.append(refs["embeddings"].mean(0))
    assert float(embeddings[0] @ embeddings[1]) < 0.6  # two different people, one per shot
    # resume: everything is in the ledger, nothing is redone
    lines = (out / LEDGER_NAME).read_text().splitlines()
    again = prepare(sources, out, OPTIONS, progress=False)
    assert (out / LEDGER_NAME).read_text().splitlines() == lines
    assert again["clips"] == 2 and json.loads(lines[0])["source"]


def test_captions_come_from_the_jsonl_index(tmp_path):
    from idvid.data.prepare import read_captions

    (tmp_path / "a.mp4").write_bytes(b"")
    (tmp_path / "captions.jsonl").write_text(json.dumps({"video": "a.mp4", "caption": " a man nods "}) + "\n")
    assert read_captions(tmp_path, [tmp_path / "a.mp4"]) == {str(tmp_path / "a.mp4"): "a man nods"}
    (tmp_path / "captions.jsonl").write_text("{not json}\n")
    with pytest.raises(Exception, match="captions.jsonl:1"):
        read_captions(tmp_path, [tmp_path / "a.mp4"])


def test_landscape_and_portrait_sources_get_buckets_of_their_shape(tmp_path, astronaut, astronaut_obs, analyzer):
    src = tmp_path / "src"
    src.mkdir()
    write_video(_render(astronaut, astronaut_obs, 12, shape=(176, 304)), src / "landscape.mp4", fps=8)
    write_video(_render(astronaut, astronaut_obs, 12, shape=(304, 176)), src / "portrait.mp4", fps=8)
    report = prepare(src, tmp_path / "ds", OPTIONS, progress=False)
    # default buckets of about 96 x 96 px: a 304:176 (1.73) source fits the 5:3 shapes best
    assert report["buckets"] == {"128x80": 1, "80x128": 1}
    store = ClipStore(tmp_path / "ds")
    for meta in store.clips():
        frames = store.read_frames(meta["clip_id"])
        height, width = frames.shape[1:3]
        assert (width > height) == meta["source"].endswith("landscape.mp4")
        for frame in frames[[0, len(frames) // 2, -1]]:  # the face stays in the crop, at a usable size
            faces = analyzer.detect(frame)
            assert len(faces) == 1
            x, y, w, h = faces[0].box
            assert 0 <= x and x + w <= width and 0 <= y and y + h <= height
            assert h >= OPTIONS.face_fraction * height * 0.8
