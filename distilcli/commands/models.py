"""``distil models``: aliases and architectures; ``inspect``; ``student``."""

from __future__ import annotations

from typing import Annotated

import typer

from distilcli.commands import _ui
from distilcli.commands._options import (
    ArchOpt,
    ConfigOpt,
    Defaults,
    DefaultsCommand,
    JsonOpt,
    LayerMapOpt,
    LayersOpt,
    OutOpt,
    OutputOpt,
    OverwriteOpt,
    SeedOpt,
    field_defaults,
    help_defaults,
)  # fmt: skip

app = typer.Typer(
    help="List packaged aliases and supported architectures; inspect models; make students.",
    invoke_without_command=True,
    no_args_is_help=False,
)


def _list(output: str | None, json_: bool) -> None:
    with _ui.command_context(output) as console:
        from distilcli.models.listing import run_models_list
        from distilcli.reports.render import render_report

        report = run_models_list()
        render_report(report, console)
        _ui.emit_report(report, output, json_, console)


@app.callback()
def models_main(ctx: typer.Context, output: OutputOpt = None, json_: JsonOpt = False) -> None:
    """List packaged aliases (installed or not) and supported architectures."""
    if ctx.invoked_subcommand is None:
        _list(output, json_)


@app.command("list")
def list_cmd(output: OutputOpt = None, json_: JsonOpt = False) -> None:
    """List packaged aliases (installed or not) and supported architectures."""
    _list(output, json_)


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


def _student_defaults() -> Defaults:
    from distilcli.models.student import StudentConfig

    return field_defaults(StudentConfig)


@app.command("student", cls=DefaultsCommand)
@help_defaults(_student_defaults)
def student_cmd(
    teacher: Annotated[str, typer.Argument(help="The teacher: a local folder, a packaged alias or a hub id.")],
    out: OutOpt = None,
    layers: LayersOpt = None,
    layer_map: LayerMapOpt = None,
    arch: ArchOpt = None,
    fold_token_type: Annotated[
        bool,
        typer.Option(
            "--fold-token-type",
            help="With --arch distilbert: add BERT's segment-0 token-type embedding into the positions, "
            "so the student matches the teacher on single-segment text.",
        ),
    ] = False,
    random_init: Annotated[
        bool, typer.Option("--random-init", help="Draw every weight afresh instead of copying the teacher's (an ablation).")
    ] = False,
    seed: SeedOpt = None,
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
            random_init=random_init or None,
            seed=seed,
            overwrite=overwrite or None,
        )
        _ui.check_config_outside(cfg, config)
        report = run_student(cfg)
        render_report(report, console)
        console.print(f"student saved to {cfg.out}", soft_wrap=True)
        _ui.emit_report(report, output, json_, console)
