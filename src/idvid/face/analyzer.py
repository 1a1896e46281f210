"""FaceAnalyzer: photo -> FaceObservation (detect, choose, align, embed, mesh, pose, quality)."""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from idvid.errors import FaceError
from idvid.face.align import ALIGNED_CROP_SIZE, align_face
from idvid.face.embed import cosine
from idvid.face.observation import SAME_PERSON_THRESHOLD, FaceDetection, FaceObservation
from idvid.face.photo import DEFAULT_MAX_PIXELS, PhotoSource, load_photo
from idvid.face.pose import head_pose
from idvid.face.quality import face_quality, sharpness
from idvid.face.upright import upright_face

CLEARLY_LARGEST = 1.5  # area ratio over the runner-up at which the main face needs no --face-index


class FaceAnalyzer:
    """The frozen face stack: YuNet detection, 5-point alignment, SFace embedding,
    MediaPipe mesh and mesh-based head pose.

    Models load on first use (or on :meth:`load`). Thread-safe: each model serialises its
    own calls, so one analyzer can be shared, but concurrent calls do not run in parallel.
    """

    def __init__(
        self,
        min_face_size: int = 64,
        score_threshold: float = 0.6,
        crop_size: int = ALIGNED_CROP_SIZE,
        max_pixels: int = DEFAULT_MAX_PIXELS,
    ):
        self.min_face_size = min_face_size
        self.score_threshold = score_threshold
        self.crop_size = crop_size
        self.max_pixels = max_pixels
        self._detector = None
        self._embedder = None
        self._mesher = None
        self._build_lock = threading.Lock()

    # ---- models (lazy) -------------------------------------------------------------------

    @property
    def detector(self):
        if self._detector is None:
            with self._build_lock:
                if self._detector is None:
                    from idvid.face.detect import YuNetDetector

                    self._detector = YuNetDetector(score_threshold=self.score_threshold)
        return self._detector

    @property
    def embedder(self):
        if self._embedder is None:
            with self._build_lock:
                if self._embedder is None:
                    from idvid.face.embed import SFaceEmbedder

                    self._embedder = SFaceEmbedder()
        return self._embedder

    @property
    def mesher(self):
        if self._mesher is None:
            with self._build_lock:
                if self._mesher is None:
                    from idvid.face.mesh import FaceMesher

                    self._mesher = FaceMesher()
        return self._mesher

    def load(self) -> FaceAnalyzer:
        """Build all three models now (otherwise the first analysis pays for it)."""
        _ = self.detector, self.embedder, self.mesher
        return self

    def close(self) -> None:
        """Release the MediaPipe graph; the analyzer rebuilds it if used again."""
        if self._mesher is not None:
            self._mesher.close()
            self._mesher = None

    # ---- steps ---------------------------------------------------------------------------

    def detect(self, image: PhotoSource) -> list[FaceDetection]:
        """All faces in a photo (anything load_photo takes), numbered left to right from 0."""
        return self._faces_in(self._load(image))

    def _faces_in(self, image: np.ndarray) -> list[FaceDetection]:
        """The detector's faces; none in a photo too thin to hold a usable face (YuNet's int8
        kernels differ by CPU, and on some it sees a "face" in a thin strip of texture)."""
        return [] if min(image.shape[:2]) < self.min_face_size else self.detector(image)

    def choose(
        self, detections: Sequence[FaceDetection], face_index: int | None = None, source: str = "the photo"
    ) -> FaceDetection:
        """Pick the reference face: the one at face_index (left to right from 0), else the only
        or clearly largest one. Raises FaceError when none fits or the choice is ambiguous."""
        faces = sorted(detections, key=lambda f: float(f.box[0] + f.box[2] / 2))
        if not faces:
            raise FaceError(f"no face found in {source}")
        if face_index is not None:
            if not 0 <= face_index < len(faces):
                raise FaceError(
                    f"--face-index {face_index} is out of range for {source}: it has {len(faces)} "
                    f"face(s), numbered 0..{len(faces) - 1} left to right"
                )
            chosen = faces[face_index]
        else:
            chosen = _clearly_largest(faces, source)
        if chosen.size < self.min_face_size:
            raise FaceError(
                f"the face in {source} is {chosen.size:.0f} px; at least {self.min_face_size} px "
                "is needed (use a larger or closer photo)"
            )
        return chosen

    def embed(self, image: np.ndarray, face: FaceDetection, roll: float) -> np.ndarray:
        """(128,) SFace embedding of a detected face, taken upright (:mod:`idvid.face.upright`);
        roll: the head's roll in degrees, from its mesh (0 when there is none)."""
        return self.embedder(*upright_face(self.detector, image, face, roll))

    def analyze(self, photo: PhotoSource, face_index: int | None = None) -> FaceObservation:
        """Full analysis of one face in one photo (anything load_photo takes)."""
        return self._analyze(photo, face_index, "the photo")

    def _analyze(self, photo: PhotoSource, face_index: int | None, fallback_name: str) -> FaceObservation:
        source = str(photo) if isinstance(photo, (str, Path)) else None
        name = source or fallback_name  # what error messages call this photo
        image = self._load(photo)
        # 1. detect and choose
        chosen = self.choose(self._faces_in(image), face_index, name)
        # 2. aligned appearance crop
        crop, _ = align_face(image, chosen.landmarks, self.crop_size)
        # 3. dense mesh, 4. pose from the mesh, 5. identity (taken upright)
        vertices = self.mesher(image, chosen, name)
        pose = head_pose(vertices)
        embedding = self.embed(image, chosen, pose.roll)
        # 6. how good a reference this is
        quality = face_quality(chosen.size, chosen.score, sharpness(crop))
        return FaceObservation(
            detection=chosen,
            crop=crop,
            embedding=embedding,
            vertices=vertices,
            pose=pose,
            image_size=(int(image.shape[0]), int(image.shape[1])),
            quality=quality,
            source=source,
        )

    def analyze_set(
        self, photos: Sequence[PhotoSource], face_index: int | Sequence[int | None] | None = None
    ) -> list[FaceObservation]:
        """Analyse several photos of one person.

        face_index: one index for all photos, or one per photo. Raises FaceError naming every
        pair of photos whose identity embeddings disagree (cosine < SAME_PERSON_THRESHOLD).
        """
        photos = list(photos)
        if not photos:
            raise FaceError("no photos given")
        indices = _per_photo(face_index, len(photos))
        observations = [
            self._analyze(p, i, f"photos[{k}]") for k, (p, i) in enumerate(zip(photos, indices, strict=True))
        ]
        names = [o.source or f"photos[{k}]" for k, o in enumerate(observations)]
        problems = []
        for a in range(len(observations)):
            for b in range(a + 1, len(observations)):
                similarity = cosine(observations[a].embedding, observations[b].embedding)
                if similarity < SAME_PERSON_THRESHOLD:
                    problems.append(
                        f"photos {names[a]} and {names[b]} do not look like the same person "
                        f"(similarity {similarity:.2f} < {SAME_PERSON_THRESHOLD})"
                    )
        if problems:
            raise FaceError("; ".join(problems))
        return observations

    def references(self, faces, face_index: int | None = None) -> list[FaceObservation]:
        """A reference set: one photo or several of one person (paths, arrays, PIL images, or
        ready FaceObservations, which are kept as they are) -> observations."""
        faces = as_face_list(faces)
        photos = [f for f in faces if not isinstance(f, FaceObservation)]
        analysed = iter(self.analyze_set(photos, face_index) if photos else [])
        return [f if isinstance(f, FaceObservation) else next(analysed) for f in faces]

    def annotate(
        self,
        image: PhotoSource,
        detections: Sequence[FaceDetection],
        chosen: FaceDetection | None = None,
        observation: FaceObservation | None = None,
    ) -> np.ndarray:
        """(H, W, 3) uint8 RGB preview: numbered boxes, landmarks, the chosen face's mesh and pose."""
        from idvid.face.preview import draw_faces

        return draw_faces(self._load(image), detections, chosen, observation)

    def _load(self, image: PhotoSource) -> np.ndarray:
        return load_photo(image, max_pixels=self.max_pixels)


def _clearly_largest(faces: list[FaceDetection], source: str) -> FaceDetection:
    """The only face, or the largest when its area is >= CLEARLY_LARGEST x the runner-up."""
    if len(faces) == 1:
        return faces[0]
    by_area = sorted(faces, key=lambda f: float(f.box[2] * f.box[3]), reverse=True)
    first, second = (float(f.box[2] * f.box[3]) for f in by_area[:2])
    if first >= CLEARLY_LARGEST * second:
        return by_area[0]
    raise FaceError(
        f"found {len(faces)} faces of similar size in {source}; pick one with "
        f"--face-index 0..{len(faces) - 1} (numbered left to right)"
    )


def _per_photo(face_index: int | Sequence[int | None] | None, count: int) -> list[int | None]:
    if face_index is None or isinstance(face_index, (int, np.integer)):
        return [face_index] * count
    indices = list(face_index)
    if len(indices) != count:
        raise FaceError(f"got {len(indices)} face indices for {count} photos")
    return indices


def as_face_list(faces) -> list:
    """One face input or a sequence of them -> a non-empty list."""
    single = isinstance(faces, (str, Path, FaceObservation)) or hasattr(faces, "getpixel") or (
        isinstance(faces, np.ndarray) and faces.ndim in (2, 3)
    )
    faces = [faces] if single else list(faces)
    if not faces:
        raise FaceError("give at least one reference face photo")
    return faces


@functools.lru_cache(maxsize=4)
def shared_analyzer(min_face_size: int = 64) -> FaceAnalyzer:
    """One analyzer per process and minimum face size: building one loads three models, so
    worker processes (synth, prepare) keep theirs for every item they handle."""
    return FaceAnalyzer(min_face_size=min_face_size)
