"""Trainable models: face knowledge, identity injection, and the backbone families they attach to."""
