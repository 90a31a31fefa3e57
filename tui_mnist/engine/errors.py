"""Errors whose message is written for the user: the CLI prints it, the app shows it."""


class EngineError(Exception):
    """Base class: str(error) is a complete, one-line explanation."""


class DataError(EngineError):
    """A data file is missing, malformed or inconsistent."""


class ModelFileError(EngineError):
    """A model or checkpoint file cannot be read or does not fit."""


class ConfigError(EngineError):
    """A training setting is out of range."""


class TrainingDiverged(EngineError):
    """The loss became non-finite or exploded."""


class MemoryGuardError(EngineError):
    """The requested network would not fit in memory."""


class OutputPathError(EngineError):
    """A file to write would replace something that is not a regular file, or has no folder
    that can be written."""

