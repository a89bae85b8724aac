"""The ``distil`` command line: the root app and the explicit list of its commands.

Importing this module must stay cheap (no torch, no transformers): every heavy
import happens inside the command that needs it, so ``distil --help`` is instant.
"""

from __future__ import annotations

from typing import Annotated

import typer

from distilcli import __version__
from distilcli.commands import models, pending, report

app = typer.Typer(
    name="distil",
    help="Distill, fine-tune, evaluate and benchmark BERT-family models (the DistilBERT recipe).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"distilcli {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Distill, fine-tune, evaluate and benchmark BERT-family models.

    Every command writes one JSON report (--output) and exits 0 ok, 1 runtime failure,
    2 bad usage or input, 3 quality gate failed.
    """


# The explicit command list, in the order --help shows it.
pending.register(app)  # distill, finetune, eval-glue, eval-squad, benchmark
app.add_typer(report.app, name="report")
app.add_typer(models.app, name="models")


def main() -> None:
    """Console-script entry point."""
    app()
