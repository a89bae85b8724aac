"""Exceptions that map to the command line's exit codes.

0 ok, 1 runtime failure, 2 bad usage or bad input, 3 a quality gate failed.
Library code raises these; the CLI turns them into one line on stderr and the
matching exit code, never a traceback.
"""

from __future__ import annotations


def first_line(exc: BaseException, limit: int | None = None) -> str:
    """An exception's first line (its type name when it has no text), cut to ``limit`` characters.

    For error messages that must stay on one line when they quote a library's error.
    """
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return text if limit is None or len(text) <= limit else text[: limit - 3] + "..."


class DistilError(Exception):
    """Base class for errors the user can act on; ``exit_code`` is the CLI's."""

    exit_code = 1


class BadInput(DistilError):
    """Bad usage or bad input: the message names the problem and the fix."""

    exit_code = 2


class Interrupted(DistilError):
    """Ctrl-C during training: a checkpoint was saved; --resume continues."""

    exit_code = 130


class Diverged(DistilError):
    """Training produced a non-finite loss, gradient or weight: stopped before anything non-finite was saved."""

    exit_code = 1


class QualityGateFailed(DistilError):
    """A ``--fail-under`` bar was not met (the report is still written)."""

    exit_code = 3
