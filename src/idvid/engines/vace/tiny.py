"""``tiny-vace``: random tiny models of Wan-VACE's classes, for tests and CPU smoke runs."""

from __future__ import annotations

from idvid.models.backbones import FAMILIES


def tiny_components() -> dict:
    """The tiny Wan components with a two-block ``WanVACETransformer3DModel`` of the same width."""
    from diffusers import WanVACETransformer3DModel

    components = FAMILIES["wan"].tiny_components()
    vae, wan = components["vae"], components.pop("transformer")
    # The control input: the conditioning video's latents, inactive and reactive halves, plus
    # the mask folded to one channel per pixel of a latent cell.
    control_channels = 2 * vae.config.z_dim + vae.config.scale_factor_spatial ** 2
    transformer = WanVACETransformer3DModel.from_config(wan.config, vace_layers=[0, 1],
                                                        vace_in_channels=control_channels)
    return dict(components, transformer=transformer)
