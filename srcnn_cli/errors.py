"""Typed exceptions of the library. Only ``cli.py`` turns them into messages and exit codes."""


class SrcnnError(Exception):
    """Base class: anything the user can fix (bad input, missing model, missing data)."""


class UnsupportedImage(SrcnnError):
    """A file that cannot be decoded or encoded as asked (corrupt, too large, wrong mode)."""


class ModelError(SrcnnError):
    """A model that is missing, corrupt, of the wrong shape, or unknown by name."""


class UnknownModel(ModelError):
    """A model name that names no model: a usage error (exit code 2), found before any work."""


class DeviceError(SrcnnError):
    """An execution device that was required but is not available."""


class DatasetNotFound(SrcnnError):
    """A named evaluation or training data set that is not where we looked."""


class TrainingError(SrcnnError):
    """A training run that cannot start or resume (missing extra, bad checkpoint, no data)."""
