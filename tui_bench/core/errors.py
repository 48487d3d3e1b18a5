"""Errors that reach the user as one clear line, and the exit codes they map to."""

from __future__ import annotations

EXIT_OK = 0
EXIT_BELOW_THRESHOLD = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class TuiBenchError(Exception):
    """Base class: ``str(err)`` is the single line shown to the user."""

    exit_code = EXIT_BAD_INPUT


class UserError(TuiBenchError):
    """Bad input: a plan, a data file, a flag or a name that does not resolve."""


class PlanError(UserError):
    """A plan file that cannot be used; the message names the file and the field."""

    def __init__(self, path: object, field: str | None, message: str) -> None:
        where = f"{path}: {field}" if field else f"{path}"
        super().__init__(f"{where}: {message}")
        self.path = path
        self.field = field
        self.message = message


class ModelNotFoundError(UserError):
    """A model source that does not resolve to a GGUF file."""


class BackendError(TuiBenchError):
    """A model that failed to load, crashed or timed out. Recorded, never fatal to a run."""
