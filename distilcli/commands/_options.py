"""Options shared by several commands, as ``Annotated`` aliases."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

# A string, not a Path: Path("dir/") drops the trailing slash that shows a folder was meant.
OutputOpt = Annotated[
    str | None,
    typer.Option("--output", "-o", help="Write the JSON report exactly to this file (atomically)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Also print the JSON report to stdout.")]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", help="YAML file of options; options given on the command line win.", dir_okay=False),
]
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", help="Replace an existing output folder.")]


def opt(*names: str, help: str) -> typer.models.OptionInfo:  # noqa: A002 - typer's own name
    """An option whose default is shown in its help text ("[default: ...]"), not by typer."""
    return typer.Option(*names, help=help, show_default=False)
