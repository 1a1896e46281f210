"""FantasyID's 3D prior computed in process: the photo's face -> DECA's codes -> FLAME's 5023
vertices, the point cloud the release computes offline (``decalib.process_pcd``).

One difference from that script, on purpose: it feeds DECA the whole photo squeezed to 224 px;
idvid feeds it the face cropped as DECA's own test code does (a square around the 68-landmark
box), taken from idvid's face mesh, so a photo that is not a tight portrait still gives a face.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from idvid.engines.fantasyid.deca import DecaEncoder, deca_crop
from idvid.engines.fantasyid.flame import FLAME_KEYS, Flame
from idvid.errors import ModelFileError

DECA_FILE, FLAME_FILE = "deca.safetensors", "flame.safetensors"
DECA_CONFIG = "deca.json"  # the encoder's widths; absent (as converted): DECA's own
# MediaPipe face-mesh points spanning what DECA's 68-landmark box spans: the outline from ear to
# ear under the brows, and both brows.
FACE_BOX_POINTS = (127, 234, 93, 132, 58, 172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365, 397, 288,
                   361, 323, 454, 356, 70, 63, 105, 66, 107, 46, 53, 52, 65, 55, 300, 293, 334, 296, 336, 276,
                   283, 282, 295, 285)
NEEDS_DECA_FLAME = ("FantasyID computes the face's 3D shape with DECA and FLAME, whose licences do not allow "
                    "shipping them: get deca_model.tar (DECA, deca.is.tue.mpg.de) and generic_model.pkl (FLAME "
                    "2020, flame.is.tue.mpg.de), then run once: idvid convert --deca deca_model.tar --flame "
                    "generic_model.pkl --out {folder}; or give a ready point cloud with --face-mesh FACE.ply")


class FacePrior:
    """DECA's coarse encoder and FLAME: a photo of a face -> (V, 3) float32 vertices."""

    def __init__(self, deca: DecaEncoder, flame: Flame) -> None:
        self.deca, self.flame = deca.eval(), flame

    @classmethod
    def from_dir(cls, folder: Path) -> FacePrior:
        import json

        from safetensors.torch import load_file

        if not has_files(folder):
            raise ModelFileError(NEEDS_DECA_FLAME.format(folder=folder))
        config = json.loads((folder / DECA_CONFIG).read_text()) if (folder / DECA_CONFIG).is_file() else {}
        deca = DecaEncoder(**config)
        deca.load_state_dict(load_file(folder / DECA_FILE))
        flame = load_file(folder / FLAME_FILE)
        return cls(deca, Flame({name: flame[name].numpy() for name in FLAME_KEYS}))

    @torch.no_grad()
    def vertices(self, photo: np.ndarray, face_points: np.ndarray) -> np.ndarray:
        """photo: (H, W, 3) uint8 RGB; face_points: (N, 2) pixels spanning DECA's 68-landmark box
        (:func:`mesh_box_points` or :func:`five_point_box`)."""
        crop = deca_crop(photo, face_points)
        code = self.deca(torch.from_numpy(crop).permute(2, 0, 1)[None])
        return self.flame(code["shape"], code["exp"], code["pose"])[0].numpy()

    def save(self, folder: Path) -> None:
        import json

        from safetensors.torch import save_file

        folder.mkdir(parents=True, exist_ok=True)
        save_file({k: v.contiguous() for k, v in self.deca.state_dict().items()}, folder / DECA_FILE)
        save_file({name: getattr(self.flame, name).contiguous() for name in FLAME_KEYS}, folder / FLAME_FILE)
        (folder / DECA_CONFIG).write_text(json.dumps(self.deca.config))


def mesh_box_points(mesh_vertices: np.ndarray) -> np.ndarray:
    """The points of idvid's (478, 3) face mesh that span DECA's box, as (N, 2) pixels."""
    return np.asarray(mesh_vertices)[list(FACE_BOX_POINTS), :2]


def five_point_box(landmarks: np.ndarray) -> np.ndarray:
    """DECA's box estimated from five landmarks (eyes, nose, mouth corners) alone, as its four
    corners: 2.3 eye distances wide, from brow height (0.35 eye-to-mouth above the eyes) to the
    chin (0.75 below the mouth). For aligned crops, whose face mesh is not kept."""
    eyes, mouth = landmarks[:2].mean(0), landmarks[3:].mean(0)
    eye_distance, eye_to_mouth = np.linalg.norm(landmarks[0] - landmarks[1]), mouth[1] - eyes[1]
    left, right = eyes[0] - 1.15 * eye_distance, eyes[0] + 1.15 * eye_distance
    top, bottom = eyes[1] - 0.35 * eye_to_mouth, mouth[1] + 0.75 * eye_to_mouth
    return np.array([[left, top], [right, top], [left, bottom], [right, bottom]], np.float32)


def has_files(folder: Path) -> bool:
    """Whether ``folder`` holds a converted DECA and FLAME."""
    return all((folder / name).is_file() for name in (DECA_FILE, FLAME_FILE))
