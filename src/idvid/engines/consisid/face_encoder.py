"""ConsisID's face conditioning, from the checkpoint's ``face_encoder/`` files.

What the model was trained with (diffusers' ``consisid_utils.process_face_embeddings``):
the photo at most 1024 px long; ArcFace's 512-d embedding of the face; the face aligned to
FFHQ's 512 px five-point template; BiSeNet's parsing of that crop, everything but the face's
own parts whitened; EVA02-CLIP's embedding (unit length) and five hidden states of the grey
face. ``id_cond`` is ArcFace's and EVA's embeddings side by side; the white-masked colour crop
is the video's first frame.

idvid finds and checks the face itself (YuNet, one person, big enough) and passes its five
landmarks in, so no antelopev2 detector, facexlib or insightface is needed, and every model
runs on the CPU or the GPU. Pickled ``.pt``/``.pth`` weights are read with torch's tensor-only
unpickler (``weights_only``), which refuses anything but tensors and plain containers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from idvid.engines.consisid.arcface import ArcFace
from idvid.engines.consisid.eva_clip import IMAGE_MEAN, IMAGE_STD, EvaVisionTower, visual_state_dict
from idvid.engines.consisid.parsing import BiSeNet, face_only
from idvid.errors import ModelFileError

# Where the checkpoint keeps each model, inside face_encoder/.
EVA_FILE = "EVA02_CLIP_L_336_psz14_s6B.pt"
PARSER_FILE = "parsing_bisenet.pth"
ARCFACE_FILE = "models/antelopev2/glintr100.onnx"
MAX_PHOTO_SIDE = 1024
CROP = 512
# FFHQ's five landmarks in a 512 px crop (facexlib's template), in YuNet's order.
FFHQ_TEMPLATE_512 = np.array([[192.98138, 239.94708], [318.90277, 240.1936], [256.63416, 314.01935],
                              [201.26117, 371.41043], [313.08905, 371.15118]], np.float32)
CROP_BORDER_RGB = (132, 133, 135)  # facexlib's grey outside the photo
GREY_WEIGHTS = (0.299, 0.587, 0.114)


@dataclass
class FaceCondition:
    """What ConsisID's pipeline takes for one face."""

    id_cond: torch.Tensor  # (1, 512 + EVA embedding): ArcFace's raw embedding, EVA's unit one
    id_vit_hidden: list[torch.Tensor]  # five (1, 1 + patches, EVA width)
    image: np.ndarray  # (CROP, CROP, 3) uint8 RGB: the face alone on white, ConsisID's first frame
    crop: np.ndarray  # (CROP, CROP, 3) uint8 RGB: the aligned face as photographed, FantasyID's first frame
    landmarks: np.ndarray  # (5, 2) the landmarks in ``image``


def ffhq_align(photo: np.ndarray, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """photo (H, W, 3) uint8 RGB -> (the 512 px FFHQ-aligned crop, the 2x3 photo-to-crop matrix)."""
    import cv2

    # LMEDS as facexlib fits it: the crops ConsisID was trained on
    matrix = cv2.estimateAffinePartial2D(np.asarray(landmarks, np.float32), FFHQ_TEMPLATE_512, method=cv2.LMEDS)[0]
    crop = cv2.warpAffine(photo, matrix, (CROP, CROP), borderMode=cv2.BORDER_CONSTANT, borderValue=CROP_BORDER_RGB)
    return crop, matrix


def at_most(photo: np.ndarray, landmarks: np.ndarray, side: int = MAX_PHOTO_SIDE) -> tuple[np.ndarray, np.ndarray]:
    """The photo shrunk (Lanczos, as the reference) so its long side is at most ``side``, and its landmarks."""
    import cv2

    scale = side / max(photo.shape[:2])
    if scale >= 1:
        return photo, landmarks
    size = (int(photo.shape[1] * scale), int(photo.shape[0] * scale))
    return cv2.resize(photo, size, interpolation=cv2.INTER_LANCZOS4), landmarks * scale


class FaceEncoder:
    """ArcFace, BiSeNet and EVA-CLIP, kept on the CPU and moved to the device for each face."""

    def __init__(self, arcface: ArcFace, parser: BiSeNet, eva: EvaVisionTower):
        self.arcface, self.parser, self.eva = arcface, parser.eval(), eva.eval()

    @classmethod
    def from_dir(cls, folder: Path, device: str = "cpu") -> FaceEncoder:
        """The three models from a checkpoint's ``face_encoder/`` folder."""
        check_files(folder)
        parser = BiSeNet()
        try:
            parser.load_state_dict(_load_tensors(folder / PARSER_FILE))
            eva = EvaVisionTower.from_state_dict(visual_state_dict(_load_tensors(folder / EVA_FILE)))
        except (RuntimeError, ValueError, KeyError) as err:
            raise ModelFileError(f"{folder} holds weights of another shape: {str(err).splitlines()[0]}") from None
        return cls(ArcFace(folder / ARCFACE_FILE, device), parser, eva)

    def save(self, folder: Path) -> None:
        """Write the checkpoint's layout (as the published files hold them: pickled state dicts)."""
        (folder / ARCFACE_FILE).parent.mkdir(parents=True, exist_ok=True)
        (folder / ARCFACE_FILE).write_bytes(self.arcface.model_bytes)
        torch.save(self.parser.state_dict(), folder / PARSER_FILE)
        torch.save({f"visual.{k}": v for k, v in self.eva.state_dict().items()}, folder / EVA_FILE)

    def weight_bytes(self) -> int:
        """As float32, with the ONNX graph."""
        from idvid.engines.dit.limits import module_bytes

        return len(self.arcface.model_bytes) + module_bytes([self.parser, self.eva])

    @torch.no_grad()
    def condition(self, photo: np.ndarray, landmarks: np.ndarray, device: torch.device | str = "cpu",
                  dtype: torch.dtype = torch.float32) -> FaceCondition:
        """photo: (H, W, 3) uint8 RGB; landmarks: (5, 2) of the face to use, in YuNet's order."""
        photo, landmarks = at_most(photo, np.asarray(landmarks, np.float64))
        arcface = torch.from_numpy(self.arcface.embed(photo, landmarks))[None]
        crop, matrix = ffhq_align(photo, landmarks)
        try:
            self.parser.to(device)
            self.eva.to(device, dtype)
            pixels = torch.from_numpy(crop).permute(2, 0, 1)[None].to(device, torch.float32) / 255
            background = ~face_only(self.parser, pixels)
            grey = (pixels * pixels.new_tensor(GREY_WEIGHTS)[:, None, None]).sum(1, keepdim=True).expand_as(pixels)
            face, grey_face = (torch.where(background, 1.0, image) for image in (pixels, grey))
            embedding, hidden = self.eva(self._eva_input(grey_face).to(dtype))
        finally:  # the denoiser needs the device memory
            self.parser.to("cpu")
            self.eva.to("cpu")
        embedding = embedding / embedding.norm(dim=1, keepdim=True)
        id_cond = torch.cat((arcface.to(embedding), embedding), dim=1)
        # truncation to uint8, as the reference turns the crop into the first frame
        image = (face[0].permute(1, 2, 0).float().cpu().numpy() * 255).astype(np.uint8)
        return FaceCondition(id_cond, hidden, image, crop, landmarks @ matrix[:, :2].T + matrix[:, 2])

    def _eva_input(self, image: torch.Tensor) -> torch.Tensor:
        size = self.eva.image_size
        scaled = F.interpolate(image, size=(size, size), mode="bicubic", align_corners=False, antialias=True)
        mean, std = (scaled.new_tensor(v)[:, None, None] for v in (IMAGE_MEAN, IMAGE_STD))
        return (scaled - mean) / std


def check_files(folder: Path) -> None:
    """ModelFileError naming the first face-encoder file that is not in ``folder``."""
    for name in (EVA_FILE, PARSER_FILE, ARCFACE_FILE):
        if not (folder / name).is_file():
            raise ModelFileError(f"ConsisID's face encoder is incomplete: {folder / name} is missing "
                                 "(it comes with the checkpoint's face_encoder/ folder)")


def face_encoder_bytes(folder: Path) -> int:
    """What the models of a ``face_encoder/`` folder take as float32, read without loading them
    where the files allow (memory-mapped)."""
    check_files(folder)
    eva = visual_state_dict(_load_tensors(folder / EVA_FILE, mmap=True))
    parser = _load_tensors(folder / PARSER_FILE, mmap=True)
    floats = sum(t.numel() * 4 for state in (eva, parser) for t in state.values())
    return floats + (folder / ARCFACE_FILE).stat().st_size


def _load_tensors(path: Path, mmap: bool = False) -> dict:
    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except RuntimeError as err:
        if mmap and "mmap" in str(err):  # an old-format file cannot be mapped: read it
            return _load_tensors(path)
        raise ModelFileError(f"cannot read {path}: {str(err).splitlines()[0]}") from None
    except Exception as err:  # noqa: BLE001 - torch raises several types for refused or broken files
        raise ModelFileError(f"cannot read {path}: {str(err).splitlines()[0]}") from None


__all__ = ["ARCFACE_FILE", "EVA_FILE", "PARSER_FILE", "FaceCondition", "FaceEncoder", "check_files", "face_encoder_bytes", "ffhq_align"]
