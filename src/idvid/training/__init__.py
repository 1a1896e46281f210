"""Trainers: the identity adapter (`idvid train`) and the nano motion model (`idvid train-motion`)."""
