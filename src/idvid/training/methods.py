"""What ``idvid train`` trains, by the model it is given: idvid's identity adapter on a DiT
backbone, or FantasyID's face modules. The loop (``trainer``) is the same; a method says how to
load the pipeline, what trains, the one module accelerate wraps, and what a batch feeds it.
"""

from __future__ import annotations

from idvid.training.adapter_model import IdentityTrainingModel, face_encoder_inputs
from idvid.training.trainable import select_trainable


class AdapterMethod:
    """idvid's identity adapter (face encoder + per-block injection) on an ``IDVideoPipeline``."""

    name = "identity adapter"

    def check(self, config) -> None:
        """Everything the adapter's training supports is in the config's own checks."""

    def load(self, model: str):
        from idvid.engines.dit.pipeline import IDVideoPipeline

        return IDVideoPipeline.from_pretrained(model)

    def select_trainable(self, pipe, config) -> None:
        t = config.train
        select_trainable(pipe, t.trainable, config.lora, t.mixed_precision, t.freeze_face_encoder)

    def training_model(self, pipe):
        return IdentityTrainingModel(pipe)

    def face_inputs(self, pipe, batch: dict, device):
        return face_encoder_inputs(pipe, batch, device)

    def encode_prompt(self, pipe, prompts: list[str]):
        return pipe.encode_prompt(prompts)

    def condition_image(self, batch: dict, video):
        """The image an image-to-video backbone starts from: the clip's first frame, (B, 3, H, W)."""
        return video[:, :, 0]


def training_method(model: str):
    """The method for ``model`` (a preset name or a directory)."""
    from idvid.engines import engine_kind

    if engine_kind(model) == "fantasyid":
        from idvid.training.fantasyid import FantasyIDMethod

        return FantasyIDMethod()
    return AdapterMethod()
