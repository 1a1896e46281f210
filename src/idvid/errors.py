"""User-facing errors, one class per kind of bad input.

Every error a user can cause by what they pass in (a photo, a prompt, a size, a config file, a
dataset, a model directory) is an :class:`IdvidError`. The CLI prints these as one line and
exits non-zero; anything else is a bug and keeps its traceback.
"""


class IdvidError(ValueError):
    """Base class for errors caused by user input."""


class ConfigError(IdvidError):
    """A configuration file or option is invalid: a training config, a benchmark suite, a command-line
    option, an output path that cannot be written."""


class DataError(IdvidError):
    """Training data cannot be made or used: a clip store, synthetic clips, prepared videos, a latent cache."""


class ImageError(IdvidError):
    """A photo cannot be read: missing, empty, corrupt, wrong format or too large."""


class FaceError(IdvidError):
    """No usable face: none found, several without an index, too small, or identities disagree."""


class ModelFileError(IdvidError):
    """A model directory is missing, incomplete, corrupt, or holds pickle weights."""


class VideoError(IdvidError):
    """A video cannot be read: missing, empty, corrupt, or without decodable video frames."""


class GenerationError(IdvidError):
    """A generation request cannot be done: prompt, frame count, size, steps, seed, device."""
