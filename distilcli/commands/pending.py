"""Commands whose work lands in later releases: listed in ``--help``, refusing plainly (exit 2)."""

from __future__ import annotations

from collections.abc import Callable

import typer

from distilcli.commands import _ui

PENDING = {
    "benchmark": "Measure size, latency, throughput and memory of one or more models.",
}


def make_pending(name: str) -> Callable[..., None]:
    def command(ctx: typer.Context) -> None:
        raise _ui.fail(
            f"`distil {name}` is not available yet in this version of distilcli: no result was produced. "
            "Available now: `distil distill`, `distil finetune`, `distil eval-glue`, `distil eval-squad`, `distil models` (inspect, student) and `distil report`.",
            2,
        )

    command.__doc__ = f"(not available yet) {PENDING[name]}"
    return command


def register(app: typer.Typer) -> None:
    """Add the pending commands to ``app``: they accept any arguments and refuse plainly."""
    for name in PENDING:
        app.command(
            name,
            context_settings={"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []},
        )(make_pending(name))
