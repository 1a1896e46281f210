"""Synthetic identities for ``idvid synth``, made from clear-licence real photos.

Few real faces ship with the project (the astronaut and Grace Hopper; :func:`load_sources` takes
any number of photos), so new people are made by changing those photos
(:func:`idvid.data.identity_morph.sample_photo`: region morphs between sources, face-shape
warps, shading, skin tone, hair colour) and keeping, out of many such candidates, the ones the
face recogniser (SFace) finds most different from each other:

1. **Pool.** ``pool_size`` candidates (by default :data:`POOL_PER_IDENTITY` per identity wanted
   plus :data:`POOL_EXTRA`); candidate ``k`` is drawn from ``np.random.default_rng([seed,
   CANDIDATE_TAG, k])`` and analysed (a candidate without exactly one usable face is skipped).
2. **Selection** (:func:`select_distinct`): greedy farthest-point selection. Start from the
   candidate least similar to the pool on average; then add, one at a time, the candidate whose
   similarities to those already chosen exceed ``threshold - SELECTION_MARGIN`` by the least in
   sum (only pairs the recogniser would nearly call one person count; the margin leaves room for
   the pose, light and expression changes of the rendered clips). A candidate at or above
   :data:`MAX_PAIR_SIMILARITY` to a chosen one is never added: no near-duplicate people.
3. **What is promised.** Two source photos hold room for only about nine people with *every*
   pair below :data:`~idvid.face.SAME_PERSON_THRESHOLD` (0.363), far fewer than training needs.
   So the bound per pair is the looser :data:`MAX_PAIR_SIMILARITY`, and the property that *most*
   pairs fall below 0.363 is measured (:func:`similarity_stats`) and reported by ``idvid synth``,
   for the identity photos and for the rendered reference views.

Deterministic per seed and count, whatever the worker count: candidates depend only on
``(seed, k)``, and the chosen ones are made again from their ``k`` (the pool keeps embeddings only).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from idvid.data.identity_morph import SourcePhoto, sample_photo
from idvid.data.workers import spawn_pool
from idvid.errors import DataError, FaceError

_PACKAGE = Path(__file__).resolve().parents[1]
SOURCE_PHOTOS = ("astronaut.jpg", "grace_hopper.jpg")
CANDIDATE_TAG = 13
POOL_PER_IDENTITY = 3
POOL_EXTRA = 8
SELECTION_MARGIN = 0.05
MAX_PAIR_SIMILARITY = 0.7  # about the mean of same-person pairs in the rendered clips
MIN_FACE_SIZE = 32


class IdentityBudgetError(DataError):
    """Not enough distinct identities could be chosen from the candidate pool."""


@dataclass(frozen=True)
class Identity:
    """One synthetic person.

    id: "id-0003"; photo: (H, W, 3) uint8 RGB; observation: its FaceObservation (embedding (128,),
    mesh (478, 3), crop (224, 224, 3)); recipe: how it was made (JSON-able, for the report)."""

    id: str
    photo: np.ndarray
    observation: object
    recipe: dict = field(default_factory=dict)


def _asset(name: str) -> Path:
    """A sample photo: ``idvid/assets/`` when installed, ``<checkout>/assets/`` in a source tree."""
    for candidate in (_PACKAGE / "assets" / name, _PACKAGE.parents[1] / "assets" / name):
        if candidate.is_file():
            return candidate
    raise DataError(f"sample photo {name} not found in the package or the checkout's assets/")


def load_sources(analyzer, photos: tuple[str | Path, ...] | None = None) -> list[SourcePhoto]:
    """The real photos (any number; default: the two bundled ones), analysed once (mesh, person mask)."""
    from idvid.face import load_photo
    from idvid.render.person import person_mask

    paths = [Path(p) for p in photos] if photos else [_asset(name) for name in SOURCE_PHOTOS]
    sources = []
    for path in paths:
        image = load_photo(path)
        vertices = np.asarray(analyzer.analyze(image).vertices, np.float32)
        sources.append(SourcePhoto(image, vertices, person_mask(image, vertices), path.stem))
    return sources


def similarity_stats(similarities) -> dict:
    """Cosine similarities of different-identity pairs -> {pairs, mean, p95, max,
    fraction_below_threshold} (None for an empty set)."""
    from idvid.face import SAME_PERSON_THRESHOLD

    s = np.asarray(similarities, dtype=np.float64).ravel()
    if not s.size:
        return {"pairs": 0, "mean": None, "p95": None, "max": None, "fraction_below_threshold": None}
    return {"pairs": int(s.size), "mean": float(s.mean()), "p95": float(np.percentile(s, 95)), "max": float(s.max()),
            "fraction_below_threshold": float((s < SAME_PERSON_THRESHOLD).mean())}


def select_distinct(similarity: np.ndarray, count: int, threshold: float) -> list[int]:
    """similarity: (P, P) cosine matrix of the pool -> indices of ``count`` candidates in the order
    chosen (see the module docstring); fewer when the pool runs out of candidates below
    MAX_PAIR_SIMILARITY to every chosen one."""
    floor = threshold - SELECTION_MARGIN
    chosen = [int(np.argmin(similarity.mean(axis=1)))]
    excess = np.maximum(similarity[:, chosen[0]] - floor, 0.0)  # running sum per candidate
    worst = similarity[:, chosen[0]].copy()  # running max per candidate
    while len(chosen) < count:
        cost = np.where(worst < MAX_PAIR_SIMILARITY, excess, np.inf)
        cost[chosen] = np.inf
        best = int(np.argmin(cost))
        if not np.isfinite(cost[best]):
            break
        chosen.append(best)
        excess += np.maximum(similarity[:, best] - floor, 0.0)
        worst = np.maximum(worst, similarity[:, best])
    return chosen


def make_identities(count: int, seed: int = 0, analyzer=None, sources: list[SourcePhoto] | None = None,
                    pool_size: int | None = None, workers: int = 1) -> list[Identity]:
    """``count`` synthetic identities chosen for distinctness from a pool of candidates (module docstring).

    Raises IdentityBudgetError when the pool does not hold ``count`` candidates with a usable face
    and no pair at or above MAX_PAIR_SIMILARITY."""
    from idvid.face import SAME_PERSON_THRESHOLD, FaceAnalyzer

    analyzer = analyzer or FaceAnalyzer(min_face_size=MIN_FACE_SIZE)
    sources = sources or load_sources(analyzer)
    pool_size = pool_size or POOL_PER_IDENTITY * count + POOL_EXTRA
    # 1. the pool: embeddings only
    found = _run_candidates(sources, seed, list(range(pool_size)), analyzer, workers, full=False)
    usable = [(k, embedding) for k, embedding in found if embedding is not None]
    embeddings = np.stack([e for _, e in usable]) if usable else np.zeros((0, 128), np.float32)
    similarity = embeddings @ embeddings.T
    # 2. selection
    picked = select_distinct(similarity, count, SAME_PERSON_THRESHOLD) if usable else []
    if len(picked) < count:
        raise IdentityBudgetError(
            f"only {len(picked)} distinct identities (no pair at or above {MAX_PAIR_SIMILARITY}) could be chosen "
            f"from {len(usable)} usable candidates of {pool_size} (seed {seed}); ask for fewer identities"
        )
    # 3. the chosen ones made again, in full
    made = dict(_run_candidates(sources, seed, [usable[p][0] for p in picked], analyzer, workers, full=True))
    chosen_sims = similarity[np.ix_(picked, picked)]
    np.fill_diagonal(chosen_sims, -1.0)
    people = []
    for i, p in enumerate(picked):
        k = usable[p][0]
        photo, observation, recipe = made[k]
        recipe = {**recipe, "candidate": k, "max_similarity_to_others": round(float(chosen_sims[i].max()), 4)
                  if count > 1 else None}
        people.append(Identity(f"id-{i:04d}", photo, observation, recipe))
    return people


def make_candidate(sources: list[SourcePhoto], seed: int, k: int, analyzer):
    """Candidate ``k`` -> (photo (H, W, 3) uint8, FaceObservation, recipe); FaceError when the
    photo does not show one usable face."""
    photo, recipe = sample_photo(sources, np.random.default_rng([seed, CANDIDATE_TAG, k]))
    return photo, analyzer.analyze(photo), recipe


def _candidates(sources, seed: int, indices: list[int], analyzer, full: bool) -> list[tuple[int, object]]:
    """-> [(k, embedding (128,) or None)], or with ``full`` [(k, (photo, observation, recipe)) or None]."""
    out = []
    for k in indices:
        try:
            photo, observation, recipe = make_candidate(sources, seed, k, analyzer)
        except FaceError:
            out.append((k, None))
            continue
        out.append((k, (photo, observation, recipe) if full else observation.embedding))
    return out


def _worker_candidates(sources, seed: int, indices: list[int], full: bool):
    from idvid.face.analyzer import shared_analyzer

    return _candidates(sources, seed, indices, shared_analyzer(MIN_FACE_SIZE), full)


def _run_candidates(sources, seed: int, indices: list[int], analyzer, workers: int, full: bool):
    """_candidates over ``indices`` in this process, or in ``workers`` spawned processes (chunks of
    consecutive candidates; results in ``indices`` order either way)."""
    if workers <= 1 or len(indices) < 2 * workers:
        return _candidates(sources, seed, indices, analyzer, full)
    chunks = [[int(k) for k in c] for c in np.array_split(np.asarray(indices), min(len(indices), 4 * workers))]
    with spawn_pool(workers) as pool:
        futures = [pool.submit(_worker_candidates, sources, seed, chunk, full) for chunk in chunks]
        return [item for future in futures for item in future.result()]
