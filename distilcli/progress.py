"""Progress reporting that library code can use without importing rich.

Library functions call :func:`task` and :func:`log`; by default nothing is
shown. The command line installs a rich-backed reporter with :func:`use_reporter`
when stderr is a terminal, so progress bars appear there and stay out of CI logs.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Protocol, TextIO


class TaskHandle(Protocol):
    def advance(self, amount: float = 1.0) -> None: ...

    def update(self, *, description: str | None = None, total: float | None = None) -> None: ...


class Reporter(Protocol):
    def task(
        self, description: str, total: float | None, unit: str = "steps"
    ) -> contextlib.AbstractContextManager[TaskHandle]: ...

    def log(self, message: str) -> None: ...


class _NullHandle:
    def advance(self, amount: float = 1.0) -> None:
        pass

    def update(self, *, description: str | None = None, total: float | None = None) -> None:
        pass


class NullReporter:
    """Shows nothing: the default for notebooks, tests and CI."""

    @contextlib.contextmanager
    def task(self, description: str, total: float | None, unit: str = "steps") -> Iterator[TaskHandle]:
        yield _NullHandle()

    def log(self, message: str) -> None:
        pass


class LineReporter(NullReporter):
    """No bars: each status line written to ``stream`` as it comes (a log file)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def log(self, message: str) -> None:
        print(message, file=self.stream, flush=True)


#: The reporter when none is installed (stateless: one shared instance, given by ``get`` rather than as the default).
_NULL = NullReporter()
_current: contextvars.ContextVar[Reporter] = contextvars.ContextVar("distilcli_reporter")


@contextlib.contextmanager
def use_reporter(reporter: Reporter) -> Iterator[None]:
    """Route progress of everything run inside the block to ``reporter``."""
    token = _current.set(reporter)
    try:
        yield
    finally:
        _current.reset(token)


def task(
    description: str, total: float | None = None, unit: str = "steps"
) -> contextlib.AbstractContextManager[TaskHandle]:
    """Open a progress task on the current reporter; ``unit`` is "steps" (a count) or "bytes"."""
    return _current.get(_NULL).task(description, total, unit)


def log(message: str) -> None:
    """A plain status line (e.g. every N training steps) for logs where no bar is drawn."""
    _current.get(_NULL).log(message)
