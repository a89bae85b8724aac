"""Exceptions that map to the command line's exit codes.

0 ok, 1 runtime failure, 2 bad usage or bad input, 3 a quality gate failed.
Library code raises these; the CLI turns them into one line on stderr and the
matching exit code, never a traceback.
"""

from __future__ import annotations


class DistilError(Exception):
    """Base class for errors the user can act on; ``exit_code`` is the CLI's."""

    exit_code = 1


class BadInput(DistilError):
    """Bad usage or bad input: the message names the problem and the fix."""

    exit_code = 2


class NotAvailableYet(BadInput):
    """A command that exists in the CLI but whose work has not landed."""


class QualityGateFailed(DistilError):
    """A ``--fail-under`` bar was not met (the report is still written)."""

    exit_code = 3
