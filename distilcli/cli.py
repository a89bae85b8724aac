"""The ``distil`` command line: the root app and the explicit list of its commands.

Importing this module must stay cheap (no torch, no transformers): every heavy
import happens inside the command that needs it, so ``distil --help`` is instant.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from distilcli import __version__
from distilcli.commands import (
    benchmark,
    distill,
    eval_glue,
    eval_retrieval,
    eval_squad,
    eval_sts,
    export,
    finetune,
    models,
    pipeline,
    report,
)
from distilcli.commands._options import DefaultsCommand, HelpGroup
from distilcli.commands._panels import RUN


class OneLineErrors(HelpGroup):
    """The root group: usage errors become one ``error:`` line and exit 2 (no usage box)."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        from typer._click import exceptions as click_exceptions  # typer vendors its own click
        from typer.exceptions import Abort

        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except click_exceptions.NoArgsIsHelpError:
            code = 0  # typer has printed the help already
        except click_exceptions.UsageError as exc:
            typer.echo(f"error: {' '.join(exc.format_message().split())}", err=True)
            code = 2
        except Abort:
            typer.echo("error: aborted", err=True)
            code = 130
        code = code if isinstance(code, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code


app = typer.Typer(
    cls=OneLineErrors,
    name="distil",
    help="Distill, fine-tune, evaluate and benchmark BERT-family models (the DistilBERT recipe).",
    no_args_is_help=True,
    # --install-completion / --show-completion: values complete too (tasks, aliases, backends: commands/_complete.py).
    add_completion=True,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"distilcli {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, rich_help_panel=RUN, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Distill, fine-tune, evaluate and benchmark BERT-family models.

    Every command writes one JSON report (--output) and exits 0 ok, 1 runtime failure,
    2 bad usage or input, 3 quality gate failed.
    """


# The explicit command list, in the order --help shows it; their help shows their config's defaults.
app.command("distill", cls=DefaultsCommand)(distill.distill_cmd)
app.command("finetune", cls=DefaultsCommand)(finetune.finetune_cmd)
app.command("eval-glue", cls=DefaultsCommand)(eval_glue.eval_glue_cmd)
app.command("eval-squad", cls=DefaultsCommand)(eval_squad.eval_squad_cmd)
app.command("eval-sts", cls=DefaultsCommand)(eval_sts.eval_sts_cmd)
app.command("eval-retrieval", cls=DefaultsCommand)(eval_retrieval.eval_retrieval_cmd)
app.command("benchmark", cls=DefaultsCommand)(benchmark.benchmark_cmd)
app.command("export", cls=DefaultsCommand)(export.export_cmd)
app.command("pipeline", cls=DefaultsCommand)(pipeline.pipeline_cmd)
app.add_typer(report.app, name="report")
app.add_typer(models.app, name="models")


def main() -> None:
    """Console-script entry point."""
    app()
