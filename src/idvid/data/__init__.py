"""Training data: procedural motion programs and their captions."""
