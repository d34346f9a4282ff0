"""The error types Hushbox raises for things a person can fix.

Every one carries a single-line message that names the problem; the command line
prints it as ``hushbox: <message>`` and exits non-zero, never with a traceback.
"""


EXIT_BAD_INPUT = 2
"""Exit status for bad input (settings, files, model): the one line says what is wrong."""


class HushboxError(Exception):
    """Base class: a problem with input, never a bug."""


class ParameterError(HushboxError, ValueError):
    """A function or setting got a value outside its allowed range."""


class AudioFileError(HushboxError):
    """An audio file is missing, unreadable or empty."""


class ModelError(HushboxError):
    """A model file is missing, truncated, corrupted or does not fit this code."""


class ConfigError(HushboxError):
    """A configuration key or value is not allowed."""
