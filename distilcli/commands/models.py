"""``distil models``: aliases and architectures; ``inspect``; ``student``; ``suggest-layers``."""

from __future__ import annotations

from typing import Annotated

import typer

from distilcli.commands import _ui
from distilcli.commands._complete import complete_model
from distilcli.commands._data_options import CorpusOpt, DocumentPerOpt, SeqLengthOpt, TextFieldOpt
from distilcli.commands._model_options import ArchOpt, LayerMapOpt, LayersOpt, SuggestLayersOpt, TeacherOpt
from distilcli.commands._options import (
    Defaults,
    DefaultsCommand,
    HelpCommand,
    HelpGroup,
    field_defaults,
    help_defaults,
    joined,
)
from distilcli.commands._panels import DATA, MODEL
from distilcli.commands._run_options import ConfigOpt, JsonOpt, OutputOpt, OverwriteOpt, StudentOutOpt, SuggestPlotOpt
from distilcli.commands._train_options import SampleSeedOpt, SuggestBatchSizeOpt

app = typer.Typer(
    cls=HelpGroup,
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


@app.command("list", cls=HelpCommand)
def list_cmd(output: OutputOpt = None, json_: JsonOpt = False) -> None:
    """List packaged aliases (installed or not) and supported architectures."""
    _list(output, json_)


@app.command("inspect", cls=HelpCommand)
def inspect_cmd(
    model: Annotated[
        str, typer.Argument(help="A local folder, a packaged alias or a hub id.", autocompletion=complete_model)
    ],
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
    teacher_arg: Annotated[
        str | None,
        typer.Argument(
            help="The teacher (shorthand for --teacher).", autocompletion=complete_model, show_default=False
        ),
    ] = None,
    teacher: TeacherOpt = None,
    layers: LayersOpt = None,
    layer_map: LayerMapOpt = None,
    arch: ArchOpt = None,
    fold_token_type: Annotated[
        bool,
        typer.Option(
            "--fold-token-type",
            rich_help_panel=MODEL,
            help="With --arch distilbert: add BERT's segment-0 token-type embedding into the positions, "
            "so the student matches the teacher on single-segment text.",
        ),
    ] = False,
    random_init: Annotated[
        bool,
        typer.Option(
            "--random-init",
            rich_help_panel=MODEL,
            help="Draw every weight afresh instead of copying the teacher's (an ablation).",
        ),
    ] = False,
    seed: SampleSeedOpt = None,
    corpus: CorpusOpt = None,
    text_field: TextFieldOpt = None,
    document_per: DocumentPerOpt = None,
    out: StudentOutOpt = None,
    overwrite: OverwriteOpt = False,
    config: ConfigOpt = None,
    output: OutputOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Make a smaller student from a teacher: chosen teacher layers, embeddings and MLM head copied in.

    --layer-map auto --corpus C chooses the layers by measurement first, as suggest-layers does.
    """
    with _ui.command_context(output) as console:
        from distilcli.distill.suggest import run_student_auto
        from distilcli.errors import BadInput

        if teacher_arg and teacher and teacher_arg != teacher:
            raise BadInput(f"two teachers: {teacher_arg!r} and --teacher {teacher!r}: give one")
        from distilcli.models.student import StudentConfig
        from distilcli.reports.render import render_report

        cfg = _ui.build(
            StudentConfig,
            config,
            output,
            teacher=teacher or teacher_arg,
            out=out,
            layers=layers,
            layer_map=joined(layer_map),
            arch=arch,
            fold_token_type=fold_token_type or None,
            random_init=random_init or None,
            seed=seed,
            corpus=corpus,
            text_field=text_field,
            document_per=document_per,
            overwrite=overwrite or None,
        )
        _ui.check_config_outside(cfg, config)
        report = run_student_auto(cfg)
        render_report(report, console)
        console.print(f"student saved to {cfg.out}", soft_wrap=True)
        _ui.emit_report(report, output, json_, console)


def _suggest_defaults() -> Defaults:
    from distilcli.distill.suggest import SuggestLayersConfig

    return field_defaults(SuggestLayersConfig)


@app.command("suggest-layers", cls=DefaultsCommand)
@help_defaults(_suggest_defaults)
def suggest_layers_cmd(
    model: Annotated[str, typer.Argument(help="The teacher: a local folder, a packaged alias or a hub id.")],
    layers: SuggestLayersOpt = None,
    corpus: CorpusOpt = None,
    text_field: TextFieldOpt = None,
    document_per: DocumentPerOpt = None,
    sample: Annotated[
        int | None,
        typer.Option("--sample", rich_help_panel=DATA, help="Sequences read from the corpus (a fixed random sample)."),
    ] = None,
    max_seq_length: SeqLengthOpt = None,
    max_tokens: Annotated[
        int | None,
        typer.Option(
            "--max-tokens", rich_help_panel=DATA, help="Token rows compared (a fixed random subset of the sample's)."
        ),
    ] = None,
    batch_size: SuggestBatchSizeOpt = None,
    seed: SampleSeedOpt = None,
    plot: SuggestPlotOpt = None,
    config: ConfigOpt = None,
    output: OutputOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Propose the teacher layers a student should keep: linear CKA between every pair of layers on a corpus sample.

    The proposed map is the one whose layers best cover the teacher (mean over teacher layers of the
    best CKA with a kept layer); the evenly spread map's coverage is shown beside it.
    """
    values = dict(locals())
    for name in ("config", "output", "json_"):
        values.pop(name)
    with _ui.command_context(output) as console:
        from distilcli.config import build_config
        from distilcli.distill.suggest import SuggestLayersConfig, run_suggest_layers
        from distilcli.reports.render import render_report

        cfg = build_config(SuggestLayersConfig, config, **values)
        report = run_suggest_layers(cfg)
        render_report(report, console)
        _ui.emit_report(report, output, json_, console)
