"""The exception hierarchy.  Every error a user can fix is a :class:`GeroconvertError`
whose ``str()`` is one line naming what is wrong and how to fix it; the command line
catches this base class and exits 2 with that line, without a traceback."""


class GeroconvertError(Exception):
    """Base class of every error geroconvert raises on purpose; its message is folded to one line."""

    def __init__(self, message: object = ""):
        super().__init__(" ".join(str(message).split()))


class ConfigError(GeroconvertError):
    """A config (file, mapping or ``--set`` override) is malformed or out of range."""


class ArchiveError(GeroconvertError):
    """An archive file is missing, damaged, foreign or of an unknown schema."""


class ClusterError(GeroconvertError):
    """A Dask cluster cannot be used: not installed, not reachable, or lost."""


class UsageError(GeroconvertError):
    """A command-line option is missing, contradictory or out of range."""
