"""Errors that reach the user as one clear line, and the exit codes they map to."""

from __future__ import annotations

EXIT_OK = 0
EXIT_BELOW_THRESHOLD = 1
EXIT_BAD_INPUT = 2
# The run or benchmark finished and its results are in the history, but something it
# had to write could not be: a report file, or a classifier's chosen model (not trained
# or not saved). Not 1: that is a verdict (below the threshold), this is a lost output.
EXIT_SAVE_FAILED = 3
# A run that stopped on an unexpected error (a bug, not bad input): nothing to fix in
# what was given, so neither 2 (bad input) nor 1 (a verdict: below the threshold).
EXIT_INTERNAL = 4
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


class SaveError(TuiBenchError):
    """A finished run whose output (a report file, a classifier's chosen model) could not
    be written or trained; the message names what, and the path or the cause."""

    exit_code = EXIT_SAVE_FAILED


def exit_code_for(status: str, passed: bool, *, outputs_written: bool = True) -> int:
    """A finished run's exit code: interrupted, outputs not written, below threshold, ok."""
    if status == "cancelled":
        return EXIT_INTERRUPTED
    if not outputs_written:
        # before the verdict: a job that passed but kept no report must not look green
        return EXIT_SAVE_FAILED
    return EXIT_OK if passed else EXIT_BELOW_THRESHOLD
