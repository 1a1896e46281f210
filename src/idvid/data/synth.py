"""``idvid synth``: synthetic training clips of synthetic people, in the clip store format.

Flow: :func:`idvid.data.identities.make_identities` makes N people from the real photos, chosen
out of a larger pool of candidates for being different to the face recogniser; identities are split into training and held-out sets (never mixed); each
identity gets M clips (:func:`idvid.data.synth_clip.render_clip`: motion program, scene,
clothing, render, K reference renders at other poses, face statistics) written with
:class:`~idvid.data.store.ClipStore`; finally ``index.jsonl`` is rebuilt and ``report.json``
summarises identity realism: reference-vs-frame similarity within clips, and the distribution of
similarities between identities (fraction below the same-person threshold, mean, 95th
percentile, max), for the rendered reference views and for the identity photos.

Determinism: clip (i, j) draws everything from ``np.random.default_rng([seed, i, j, 7])``; the
same seed and options give byte-identical json sidecars, refs and decoded frames whatever the
worker count (x264 is deterministic for a fixed input and settings; the tests check the decoded
frames). Resumable: a clip whose json exists is kept on a rerun with the same options; a
partial clip (mp4/npz without json) is rewritten.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from idvid.atomic import atomic_output, make_folder
from idvid.data.store import INDEX_NAME, SHARDS, ClipStore, StoreError
from idvid.data.synth_clip import ClipOptions, render_clip, round_floats
from idvid.data.workers import spawn_pool
from idvid.engines.request import MAX_SEED
from idvid.errors import DataError
from idvid.render.framing import FACE_FRACTION, MAX_FACE_FRACTION

CONFIG_NAME = "synth.json"
REPORT_NAME = "report.json"
CLIP_SEED_TAG = 7


def split_identities(count: int, heldout_fraction: float, seed: int) -> list[bool]:
    """-> held-out flag per identity: round(count * fraction) of them (at least one when the
    fraction is > 0 and count >= 2; never all), chosen by the seed."""
    if not 0.0 <= heldout_fraction < 1.0:
        raise DataError(f"heldout_fraction must be in [0, 1), got {heldout_fraction}")
    n = round(count * heldout_fraction)
    if heldout_fraction > 0 and count >= 2:
        n = min(max(n, 1), count - 1)
    chosen = set(np.random.default_rng([seed, 99]).permutation(count)[:n].tolist())
    return [i in chosen for i in range(count)]


def clip_id(identity_index: int, clip_index: int) -> str:
    return f"syn-{identity_index:04d}-{clip_index:03d}"


# ---- worker side ----------------------------------------------------------------------------

def _analyzer():
    from idvid.face.analyzer import shared_analyzer

    return shared_analyzer(min_face_size=16)  # synthetic clips are rendered small (64-128 px)


def _identity_job(out: str, identity, index: int, clips: list[int], clips_per_identity: int, seed: int,
                  options: ClipOptions, heldout: bool, shard_size: int) -> list[tuple[str, float]]:
    """Render and write the missing clips of one identity -> [(clip id, seconds)]."""
    from idvid.render import Portrait

    store = ClipStore(out, shard_size=shard_size)
    portrait = Portrait.from_observation(identity.photo, identity.observation)
    done = []
    for j in clips:
        start = time.perf_counter()
        frames, refs, meta, fps = render_clip(portrait, identity, [seed, index, j, CLIP_SEED_TAG], options,
                                              _analyzer(), heldout)
        cid = clip_id(index, j)
        store.write_clip(cid, frames, refs, meta, number=index * clips_per_identity + j, fps=fps)
        done.append((cid, time.perf_counter() - start))
    return done


# ---- driver -----------------------------------------------------------------------------------


def synthesize(
    out: str | Path,
    identities: int = 4,
    clips_per_identity: int = 2,
    seed: int = 0,
    size: int = 128,
    num_frames: int = 17,
    heldout_fraction: float = 0.2,
    workers: int = 1,
    progress: bool | Callable[[int, int], None] = True,
    overwrite: bool = False,
    ref_views: int = 3,
    shard_size: int = 1000,
    face_fraction: float = FACE_FRACTION,
) -> dict:
    """Make ``identities`` x ``clips_per_identity`` synthetic clips in the clip store ``out``.

    Returns the report dict (also written to ``out/report.json``), plus a ``timing`` entry that
    is only in the returned dict (seconds for identities and clips; not written, so the report
    file is reproducible)."""
    if identities < 1 or clips_per_identity < 1:
        raise DataError("identities and clips_per_identity must be >= 1")
    if size < 32 or size % 2 or num_frames < 2:
        raise DataError(f"size must be even and >= 32, num_frames >= 2 (got {size}, {num_frames})")
    if not 0.1 <= face_fraction <= MAX_FACE_FRACTION:
        raise DataError(f"face_fraction must be in [0.1, {MAX_FACE_FRACTION}], got {face_fraction}")
    if not 0 <= seed <= MAX_SEED:
        raise DataError(f"seed must be from 0 to {MAX_SEED} (got {seed})")
    if workers < 1:
        raise DataError(f"workers must be at least 1 (got {workers})")
    if not 0 <= heldout_fraction < 1:
        raise DataError(f"heldout_fraction must be in [0, 1), got {heldout_fraction}")
    out = Path(out)
    options = ClipOptions(size=int(size), num_frames=int(num_frames), ref_views=int(ref_views),
                          face_fraction=float(face_fraction))
    config = {"identities": identities, "clips_per_identity": clips_per_identity, "seed": seed, "size": size,
              "num_frames": num_frames, "heldout_fraction": heldout_fraction, "ref_views": ref_views,
              "shard_size": shard_size, "format": 1}
    if face_fraction != FACE_FRACTION:  # only when set, so stores made before the option still resume
        config["face_fraction"] = face_fraction
    _prepare_folder(out, config, overwrite)
    # 1. identities and their split
    start = time.perf_counter()
    people = _make_identities(identities, seed, workers)
    identity_seconds = time.perf_counter() - start
    heldout = split_identities(identities, heldout_fraction, seed)
    # 2. clips (skipping those already complete)
    store = ClipStore(out, shard_size=shard_size)
    jobs = []
    for i, person in enumerate(people):
        missing = [j for j in range(clips_per_identity) if clip_id(i, j) not in store]
        if missing:
            jobs.append((str(out), person, i, missing, clips_per_identity, seed, options, heldout[i], shard_size))
    total = sum(len(job[3]) for job in jobs)
    start = time.perf_counter()
    clip_seconds = _run_jobs(jobs, workers, total, progress)
    clips_wall = time.perf_counter() - start
    # 3. index and report
    store.rebuild_index()
    report = identity_report(store, people, heldout)
    with atomic_output(out / REPORT_NAME, overwrite=True) as tmp:
        tmp.write_text(json.dumps(report, sort_keys=True, indent=1) + "\n")
    report["timing"] = {"identities_seconds": identity_seconds, "clips_made": total,
                        "clips_wall_seconds": clips_wall, "clip_seconds": clip_seconds}
    return report


def _prepare_folder(out: Path, config: dict, overwrite: bool) -> None:
    path = out / CONFIG_NAME
    if out.exists() and overwrite:
        for name in (SHARDS,):
            shutil.rmtree(out / name, ignore_errors=True)
        for name in (INDEX_NAME, REPORT_NAME, CONFIG_NAME):
            (out / name).unlink(missing_ok=True)
    if path.is_file():
        old = json.loads(path.read_text())
        if old != config:
            raise StoreError(f"{out} holds a synth run with other options ({old}); pass --overwrite to replace it")
        return
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise StoreError(f"{out} exists and is not a synth output; pass --overwrite or choose an empty folder")
    make_folder(out)
    with atomic_output(path, overwrite=True) as tmp:
        tmp.write_text(json.dumps(config, sort_keys=True, indent=1) + "\n")


def _make_identities(count: int, seed: int, workers: int):
    from idvid.data.identities import MIN_FACE_SIZE, make_identities
    from idvid.face.analyzer import shared_analyzer

    return make_identities(count, seed=seed, analyzer=shared_analyzer(MIN_FACE_SIZE), workers=workers)


def _run_jobs(jobs: list, workers: int, total: int, progress) -> list[float]:
    """Run the identity jobs in this process (workers <= 1) or in a spawn pool."""
    bar = None
    if progress is True:
        from tqdm import tqdm

        bar = tqdm(total=total, unit="clip", desc="synth", dynamic_ncols=True)
    seconds: list[float] = []

    def tick(done):
        seconds.extend(s for _, s in done)
        if bar is not None:
            bar.update(len(done))
        elif callable(progress):
            progress(len(seconds), total)

    try:
        if workers <= 1 or len(jobs) <= 1:
            for job in jobs:
                # one clip at a time, so the bar moves per clip
                for j in job[3]:
                    tick(_identity_job(*job[:3], [j], *job[4:]))
        else:
            from concurrent.futures import as_completed

            with spawn_pool(workers) as pool:
                futures = [pool.submit(_identity_job, *job) for job in jobs]
                for future in as_completed(futures):
                    tick(future.result())
    finally:
        if bar is not None:
            bar.close()
    return seconds


def identity_report(store: ClipStore, people: list, heldout: list[bool]) -> dict:
    """Identity realism: SFace similarity of reference views vs frames within each clip, and of
    reference views and of identity photos between different identities; plus the identity recipes."""
    from idvid.data.identities import MAX_PAIR_SIMILARITY, similarity_stats
    from idvid.face import SAME_PERSON_THRESHOLD

    within: list[float] = []
    refs, owners = [], []  # reference embeddings (K, 128) per clip, and whose they are
    clip_means, detection = [], []
    for meta in store.clips(use_index=False):
        stats = meta["face_stats"]
        within.extend(stats["ref_frame_similarities"])
        if stats["ref_frame_similarity_mean"] is not None:
            clip_means.append(stats["ref_frame_similarity_mean"])
        detection.append(stats["detection_rate"])
        refs.append(store.read_refs(meta["clip_id"])["embeddings"])
        owners.extend([meta["identity"]] * len(refs[-1]))
    between = np.zeros(0)
    if refs:
        embeddings, owner = np.concatenate(refs), np.unique(owners, return_inverse=True)[1]
        between = (embeddings @ embeddings.T)[owner[:, None] < owner[None, :]]  # each pair of identities once
    photos = np.stack([p.observation.embedding for p in people])
    photo_pairs = (photos @ photos.T)[np.triu_indices(len(people), 1)]
    w = np.asarray(within)
    report = {
        "threshold": SAME_PERSON_THRESHOLD,
        "max_pair_similarity": MAX_PAIR_SIMILARITY,  # the bound on identity photo pairs
        "clips": len(store),
        "identities": {"count": len(people), "heldout": [p.id for p, h in zip(people, heldout) if h],
                       "train": [p.id for p, h in zip(people, heldout) if not h],
                       "recipes": {p.id: p.recipe for p in people}},
        "detection_rate_mean": float(np.mean(detection)) if detection else None,
        "same_identity": {  # reference views vs frames of the same clip
            "pairs": int(w.size), "mean": float(w.mean()) if w.size else None,
            "min": float(w.min()) if w.size else None, "p5": float(np.percentile(w, 5)) if w.size else None,
            "clip_mean_min": float(min(clip_means)) if clip_means else None,
            "fraction_above_threshold": float((w >= SAME_PERSON_THRESHOLD).mean()) if w.size else None,
        },
        "different_identity": similarity_stats(between),  # reference views of two different identities
        "identity_photos": similarity_stats(photo_pairs),  # the photos the identities are rendered from
    }
    return round_floats(report)


def format_report(report: dict) -> str:
    s, d, p = report["same_identity"], report["different_identity"], report["identity_photos"]

    def f(x):
        return "n/a" if x is None else f"{x:.3f}"

    lines = [
        (f"clips: {report['clips']}, identities: {report['identities']['count']} "
         f"(held out: {len(report['identities']['heldout'])}), face detection rate {f(report['detection_rate_mean'])}"),
        (f"same identity (refs vs frames, {s['pairs']} pairs): mean {f(s['mean'])}, 5th percentile {f(s['p5'])}, "
         f"min {f(s['min'])}, above {report['threshold']}: {f(s['fraction_above_threshold'])}"),
        *(f"different identities ({what}, {x['pairs']} pairs): mean {f(x['mean'])}, 95th percentile "
          f"{f(x['p95'])}, max {f(x['max'])}, below {report['threshold']}: {f(x['fraction_below_threshold'])}"
          for what, x in (("refs", d), ("photos", p))),
    ]
    if "timing" in report:
        t = report["timing"]
        rate = 60 * t["clips_made"] / t["clips_wall_seconds"] if t["clips_made"] and t["clips_wall_seconds"] else 0
        lines.append(f"time: identities {t['identities_seconds']:.1f} s, {t['clips_made']} clips in "
                     f"{t['clips_wall_seconds']:.1f} s ({rate:.1f} clips/min)")
    return "\n".join(lines)
