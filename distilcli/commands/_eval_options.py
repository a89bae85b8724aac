"""Options of the eval commands alone (eval-glue, eval-squad, eval-sts), declared once for the three."""

from __future__ import annotations

from typing import Annotated, Any

import typer


def limit_option(unit: str) -> Any:
    """``--limit N``, its help naming what N counts for the command (``unit``: "pairs", ...)."""
    return Annotated[
        int | None,
        typer.Option(
            "--limit",
            metavar="N",
            rich_help_panel="Evaluation",
            help=f"Score a fixed subsample of N {unit}: a seeded random draw (the same every run, as "
            "--train-limit's), kept in file order and recorded in the report. Unset: all of them.",
        ),
    ]
