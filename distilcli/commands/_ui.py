"""Terminal plumbing for the commands: errors as one line, progress bars, report output.

Human output goes to stderr; stdout carries only JSON asked for with ``--json``.
"""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from distilcli import progress
from distilcli.config import ConfigPrinted
from distilcli.errors import DistilError

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console

    from distilcli.reports import Report


def stderr_console() -> Console:
    from rich.console import Console

    console = Console(stderr=True, highlight=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        # Logs and pipes: Rich would assume 80 columns and fold every wide table.
        console = Console(stderr=True, highlight=False, width=140)
    return console


def fail(message: str, code: int) -> typer.Exit:
    """Print ``error: message`` as one line on stderr and return the Exit to raise."""
    one_line = " ".join(message.split())
    typer.echo(f"error: {one_line}", err=True)
    return typer.Exit(code)


class RichReporter:
    """A :class:`distilcli.progress.Reporter` drawing rich progress bars on stderr."""

    def __init__(self, console: Console) -> None:
        from rich.progress import (
            BarColumn,
            Progress,
            ProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.text import Text

        class CountColumn(ProgressColumn):
            """``12/300`` for steps, ``12.0/404.4 MB`` for bytes."""

            def render(self, task):  # type: ignore[no-untyped-def]
                if task.fields.get("unit") == "bytes":
                    total = "?" if task.total is None else f"{task.total / 1e6:.1f}"
                    return Text(f"{task.completed / 1e6:.1f}/{total} MB")
                total = "?" if task.total is None else f"{int(task.total)}"
                return Text(f"{int(task.completed)}/{total}")

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            CountColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )

    @contextlib.contextmanager
    def task(self, description: str, total: float | None, unit: str = "steps") -> Iterator[progress.TaskHandle]:
        progress_ = self._progress
        task_id = progress_.add_task(description, total=total, unit=unit)
        progress_.start()

        class Handle:
            def advance(self, amount: float = 1.0) -> None:
                progress_.advance(task_id, amount)

            def update(self, *, description: str | None = None, total: float | None = None) -> None:
                progress_.update(task_id, description=description, total=total)

        try:
            yield Handle()
        finally:
            progress_.remove_task(task_id)
            if not progress_.tasks:
                progress_.stop()

    def log(self, message: str) -> None:
        # The bar already shows live status; keep milestones above it.
        self._progress.console.print(message, soft_wrap=True, markup=False)


class PlainReporter(progress.NullReporter):
    """No bars (CI logs, pipes): only the occasional status line, plainly, on stderr."""

    def log(self, message: str) -> None:
        typer.echo(message, err=True)


def show_progress(console: Console) -> bool:
    """Progress bars only on an interactive terminal, never in CI logs."""
    return console.is_terminal and not os.environ.get("CI")


@contextlib.contextmanager
def command_context(output: str | Path | None = None) -> Iterator[Console]:
    """Run a command body: ``--output`` checked first, progress on terminals, errors mapped to exit codes.

    DistilError subclasses become ``error: ...`` and their exit code (2 for bad input,
    3 for a failed quality gate); anything unexpected is a runtime failure (exit 1),
    with the traceback only when ``DISTIL_DEBUG=1``.
    """
    console = stderr_console()
    reporter: progress.Reporter = RichReporter(console) if show_progress(console) else PlainReporter()
    try:
        with progress.use_reporter(reporter):
            # An unwritable --output fails here, before any work, not after it.
            check_output(output)
            yield console
    except typer.Exit:
        raise
    except ConfigPrinted as printed:
        sys.stdout.write(printed.yaml)
        sys.stdout.flush()
        raise typer.Exit(0) from None
    except DistilError as exc:
        raise fail(str(exc), exc.exit_code) from None
    except KeyboardInterrupt:
        raise fail("interrupted", 130) from None
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, exit 1
        from distilcli.fsutil import is_disk_full

        if is_disk_full(exc):  # from a writer that does not say which file: the cause, plainly
            where = f" ({exc.filename})" if isinstance(exc, OSError) and exc.filename else ""
            raise fail(f"no space left on device{where}: free some space, then run again", 1) from None
        if os.environ.get("DISTIL_DEBUG"):
            traceback.print_exc()
        hint = "" if os.environ.get("DISTIL_DEBUG") else " (set DISTIL_DEBUG=1 for the traceback)"
        raise fail(f"{type(exc).__name__}: {exc}{hint}", 1) from None


def check_output(output: str | Path | None) -> None:
    """Fail on an unwritable ``--output`` before any work, not after it."""
    from distilcli.fsutil import check_output_file

    check_output_file(output)


def check_config_outside(cfg: Any, config: Path | None) -> None:
    """A --config file must not lie inside the --out that --overwrite replaces (it would be deleted)."""
    from distilcli.rundir import check_inputs_outside

    if config is not None and cfg.overwrite and not getattr(cfg, "resume", False):
        check_inputs_outside(Path(cfg.out), {"--config": config})


def build(
    cls: type[Any],
    config: Path | None,
    output: str | Path | None,
    *,
    check: Callable[[Any], None] | None = None,
    **values: Any,
) -> Any:
    """``build_config`` (``check`` runs before --print-config stops); a missing --out given -o hints that
    -o/--output is the report and --out the folder."""
    from distilcli.config import build_config
    from distilcli.errors import BadInput

    try:
        return build_config(cls, config, check=check, **values)
    except BadInput as exc:
        if output is None or "missing required option(s)" not in str(exc) or "--out" not in str(exc).split(":")[0]:
            raise
        raise BadInput(f"{exc} (-o/--output {output} is the JSON report; --out is the output folder)") from None


def raise_failed_gates(outcomes: list[dict[str, Any]], digits: str) -> None:
    """After the report is out: exit 3 naming every --fail-under gate that failed (``digits`` formats values)."""
    from distilcli.errors import QualityGateFailed

    failed = [o for o in outcomes if not o["passed"]]
    if failed:
        shown = "; ".join(
            f"{o['metric']} {'not measured' if o['value'] is None else format(o['value'], digits)} < {o['bar']:g}"
            for o in failed
        )
        raise QualityGateFailed(f"quality gate failed: {shown}")


def emit_report(report: Report, output: str | Path | None, as_json: bool, console: Console) -> None:
    """Write the report to ``--output`` and/or stdout (``--json``)."""
    from distilcli.reports import write_report

    if output is not None:
        write_report(report, Path(output))
        console.print(f"report written to {output}", soft_wrap=True)
    if as_json:
        sys.stdout.write(report.to_json())
        sys.stdout.flush()
