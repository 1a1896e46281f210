"""Training loops (run as modules, e.g. ``python -m idvid.training.motion``)."""
