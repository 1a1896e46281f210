"""``tiny-consisid``: random tiny models of ConsisID's classes, for tests and CPU smoke runs.

The same classes as the published checkpoint at toy widths: diffusers' ConsisID transformer
(with its face modules) on the tiny CogVideoX VAE and T5, and a face encoder of the same
kinds: a tiny ArcFace-shaped ONNX graph, the real-size BiSeNet, a 21-block EVA tower.
"""

from __future__ import annotations

import numpy as np

from idvid.models.backbones import FAMILIES

EVA_WIDTH, EVA_EMBED, ARCFACE_DIM = 64, 32, 512


def tiny_components() -> dict:
    """The tiny CogVideoX I2V components with a ``ConsisIDTransformer3DModel`` in place of its transformer."""
    from diffusers import CogVideoXDPMScheduler, ConsisIDTransformer3DModel

    components = FAMILIES["cogvideox"].tiny_components(image_to_video=True)
    cog = components.pop("transformer").config
    heads, head_dim = 3, 16  # the face cross-attention reads 2/3 of the width: a multiple of 3
    transformer = ConsisIDTransformer3DModel(
        num_attention_heads=heads, attention_head_dim=head_dim, in_channels=cog.in_channels,
        out_channels=cog.out_channels, time_embed_dim=cog.time_embed_dim, text_embed_dim=cog.text_embed_dim,
        num_layers=cog.num_layers, sample_width=cog.sample_width, sample_height=cog.sample_height,
        sample_frames=cog.sample_frames, max_text_seq_length=cog.max_text_seq_length,
        use_rotary_positional_embeddings=True, is_train_face=True, cross_attn_interval=1,
        cross_attn_dim_head=16, cross_attn_num_heads=2, LFE_id_dim=ARCFACE_DIM + EVA_EMBED,
        LFE_vit_dim=EVA_WIDTH, LFE_depth=5, LFE_dim_head=16, LFE_num_heads=2, LFE_num_id_token=2,
        LFE_num_querie=4, LFE_output_dim=heads * head_dim * 2 // 3, LFE_ff_mult=2, LFE_num_scale=5,
    )
    scheduler = CogVideoXDPMScheduler.from_config(components.pop("scheduler").config)
    return dict(components, transformer=transformer, scheduler=scheduler)


def tiny_face_models() -> dict:
    """The face encoder's torch models: the real-size BiSeNet and a 21-block EVA tower."""
    from idvid.engines.consisid.eva_clip import HIDDEN_BLOCKS, EvaVisionTower
    from idvid.engines.consisid.parsing import BiSeNet

    eva = EvaVisionTower(image_size=56, patch=14, width=EVA_WIDTH, layers=HIDDEN_BLOCKS[-1] + 1,
                         mlp_hidden=int(EVA_WIDTH * 2.6667), embed_dim=EVA_EMBED)
    return dict(parser=BiSeNet(), eva=eva)


def tiny_face_encoder():
    from idvid.engines.consisid.arcface import ArcFace
    from idvid.engines.consisid.face_encoder import FaceEncoder

    return FaceEncoder(ArcFace(tiny_arcface_graph()), **tiny_face_models())


def tiny_arcface_graph(seed: int = 0) -> bytes:
    """A serialized ONNX graph with ArcFace's interface: (1, 3, 112, 112) pixels -> (1, 512)."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    kernel = numpy_helper.from_array((rng.standard_normal((8, 3, 16, 16)) * 0.01).astype(np.float32), "kernel")
    project = numpy_helper.from_array((rng.standard_normal((8 * 7 * 7, ARCFACE_DIM)) * 0.05).astype(np.float32),
                                      "project")
    nodes = [helper.make_node("Conv", ["input.1", "kernel"], ["patches"], name="Conv_0", strides=[16, 16]),
             helper.make_node("Flatten", ["patches"], ["flat"], name="Flatten_1"),
             helper.make_node("MatMul", ["flat", "project"], ["683"], name="MatMul_2")]
    graph = helper.make_graph(
        nodes, "tiny_arcface", [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [1, 3, 112, 112])],
        [helper.make_tensor_value_info("683", TensorProto.FLOAT, [1, ARCFACE_DIM])], [kernel, project])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()
