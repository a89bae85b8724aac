"""``distil models``: aliases and architectures; ``inspect``; ``student``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from distilcli.commands import _ui
from distilcli.commands._options import ConfigOpt, JsonOpt, OutputOpt, OverwriteOpt

app = typer.Typer(
    help="List packaged aliases and supported architectures; inspect models; make students.",
    invoke_without_command=True,
    no_args_is_help=False,
)


def _listing() -> dict[str, object]:
    from distilcli.models.adapters import ADAPTERS
    from distilcli.models.aliases import ALIASES

    return {
        "aliases": [
            {
                "name": name,
                "description": alias.description,
                "installed": alias.is_installed(),
                "install": alias.install_command(),
            }
            for name, alias in ALIASES.items()
        ],
        "architectures": [{"model_type": name, "description": a.description} for name, a in ADAPTERS.items()],
    }


def _print_listing(as_json: bool) -> None:
    from rich.table import Table

    listing = _listing()
    if as_json:
        sys.stdout.write(json.dumps(listing, indent=2) + "\n")
        return
    console = _ui.stderr_console()
    aliases = Table(title="packaged aliases (pass as a model reference)", title_justify="left")
    for column in ("alias", "what", "installed"):
        aliases.add_column(column)
    for row in listing["aliases"]:  # type: ignore[union-attr]
        installed = "yes" if row["installed"] else f"no: {row['install']}"
        aliases.add_row(row["name"], row["description"], installed)
    console.print(aliases)
    archs = Table(title="supported architectures", title_justify="left")
    archs.add_column("model_type")
    archs.add_column("examples")
    for row in listing["architectures"]:  # type: ignore[union-attr]
        archs.add_row(row["model_type"], row["description"])
    console.print(archs)
    console.print("Also accepted: a local folder in Hugging Face format, or a hub id where the hub is reachable.")


@app.callback()
def models_main(ctx: typer.Context, json_: JsonOpt = False) -> None:
    """List packaged aliases (installed or not) and supported architectures."""
    if ctx.invoked_subcommand is None:
        _print_listing(json_)


@app.command("list")
def list_cmd(json_: JsonOpt = False) -> None:
    """List packaged aliases (installed or not) and supported architectures."""
    _print_listing(json_)


@app.command("inspect")
def inspect_cmd(
    model: Annotated[str, typer.Argument(help="A local folder, a packaged alias or a hub id.")],
    output: OutputOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Print type, layers, hidden size, heads, vocabulary, parameters and MLM-head status."""
    with _ui.command_context(output) as console:
        from distilcli.models.inspect import InspectConfig, run_inspect
        from distilcli.reports.render import render_report

        report = run_inspect(InspectConfig(model=model))
        render_report(report, console)
        _ui.emit_report(report, output, json_, console)


@app.command("student")
def student_cmd(
    teacher: Annotated[str, typer.Argument(help="The teacher: a local folder, a packaged alias or a hub id.")],
    out: Annotated[Path | None, typer.Option("--out", help="Folder to save the student to.", file_okay=False)] = None,
    layers: Annotated[
        int | None, typer.Option("--layers", help="Number of layers; teacher layers spread evenly (default: half).")
    ] = None,
    layer_map: Annotated[
        str | None, typer.Option("--layer-map", help="Teacher layers to copy, in order, e.g. 0,2,4 (reference: 0,2,4,7,9,11).")
    ] = None,
    arch: Annotated[
        str | None, typer.Option("--arch", help="Student architecture: the teacher's (default) or distilbert for a BERT teacher.")
    ] = None,
    fold_token_type: Annotated[
        bool,
        typer.Option(
            "--fold-token-type",
            help="With --arch distilbert: add BERT's segment-0 token-type embedding into the positions, "
            "so the student matches the teacher on single-segment text.",
        ),
    ] = False,
    overwrite: OverwriteOpt = False,
    config: ConfigOpt = None,
    output: OutputOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Make a smaller student from a teacher: chosen teacher layers, embeddings and MLM head copied in."""
    with _ui.command_context(output) as console:
        from distilcli.config import build_config
        from distilcli.models.student import StudentConfig, run_student
        from distilcli.reports.render import render_report

        cfg = build_config(
            StudentConfig,
            config,
            teacher=teacher,
            out=out,
            layers=layers,
            layer_map=layer_map,
            arch=arch,
            fold_token_type=fold_token_type or None,
            overwrite=overwrite or None,
        )
        report = run_student(cfg)
        render_report(report, console)
        console.print(f"student saved to {cfg.out}", soft_wrap=True)
        _ui.emit_report(report, output, json_, console)
