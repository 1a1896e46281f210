"""Helpers for the training tests."""


def make_store(root, identities: int = 3, clips_per_identity: int = 2, seed: int = 2, heldout_fraction: float = 0.34):
    """An `idvid synth` store of 64 x 64, 9-frame clips at ``root``; -> root."""
    from idvid.data.synth import synthesize

    synthesize(root, identities=identities, clips_per_identity=clips_per_identity, seed=seed, size=64, num_frames=9,
               heldout_fraction=heldout_fraction, progress=False)
    return root
