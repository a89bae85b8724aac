"""``distil pipeline``: the whole DistilBERT experiment of a recipe in one command, with the paper's tables."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from distilcli.commands import _ui
from distilcli.commands._data_options import CorpusOpt, GlueDirOpt, HubDirOpt
from distilcli.commands._eval_options import PipelineGateOpt
from distilcli.commands._options import Defaults, field_defaults, help_defaults, joined
from distilcli.commands._panels import DATA, RUN
from distilcli.commands._run_options import ConfigOpt, JsonOpt, OutputOpt, PipelineOutOpt, ReportToOpt, TrackingDirOpt

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console

    from distilcli.pipeline.recipe import Recipe
    from distilcli.pipeline.stages import Stage

#: How --dry-run names each stage's state.
_STATES = {"todo": "to run", "done": "done (skipped)", "resume": "interrupted: resumes", "redo": "edited: redone"}


def _render_plan(recipe: Recipe, stages: list[tuple[Stage, str]], console: Console) -> None:
    from rich.table import Table

    table = Table(title=f"recipe {recipe.name}: {len(stages)} stages", title_justify="left")
    for column in ("stage", "state", "runs"):
        table.add_column(column, overflow="fold")
    for stage, state in stages:
        table.add_row(stage.name, _STATES[state], stage.describe())
    console.print(table)


@contextlib.contextmanager
def _locked(out: Path) -> Iterator[None]:
    """Hold one lock on the pipeline's folder while it runs.

    The stages run in this process and lock their own sub-folders (``DIR/<stage>/run``): a lock
    is re-entrant within a process, so they run; another run inside DIR is refused.
    """
    from distilcli.pipeline.state import PIPELINE_MARKER, check_out
    from distilcli.runlock import run_lock

    check_out(Path(out))  # the pipeline's own refusal, before the lock creates the folder
    with run_lock(Path(out), marks=(PIPELINE_MARKER,)):
        (Path(out) / PIPELINE_MARKER).touch()  # the folder is the pipeline's from here on
        yield


def _defaults() -> Defaults:
    from distilcli.pipeline.run import PipelineConfig

    return field_defaults(PipelineConfig)


@help_defaults(_defaults)
def pipeline_cmd(
    recipe: Annotated[
        str | None,
        typer.Option(
            "--recipe",
            rich_help_panel=RUN,
            help="A built-in recipe (smoke, cpu, cpu-ablation, cpu-td-ablation, embeddings, paper) or a YAML file.",
        ),
    ] = None,
    corpus: CorpusOpt = None,
    glue_dir: GlueDirOpt = None,
    hub_dir: HubDirOpt = None,
    retrieval_data: Annotated[
        Path | None,
        typer.Option(
            "--retrieval-data",
            rich_help_panel=DATA,
            help="An embeddings recipe's retrieval collection, in any form eval-retrieval --data reads "
            "(a QA dev .json, a BEIR folder, .jsonl): every model is scored on it too. Unset: no retrieval stages.",
        ),
    ] = None,
    fail_under: PipelineGateOpt = None,
    report_to: ReportToOpt = None,
    tracking_dir: TrackingDirOpt = None,
    out: PipelineOutOpt = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            rich_help_panel=RUN,
            help="Stages run at once, each in its own process with the cores shared out (2 on a 2-core machine: "
            "independent stages side by side). Each stage's output then goes to DIR/<stage>/stage.log.",
        ),
    ] = None,
    print_: Annotated[
        bool,
        typer.Option(
            "--print", rich_help_panel=RUN, help="Write the recipe as YAML to stdout (to edit and pass back) and exit."
        ),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            rich_help_panel=RUN,
            help="List the stages, what each runs and which are already done; run nothing.",
        ),
    ] = False,
    config: ConfigOpt = None,
    output: OutputOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Distill a student, fine-tune teacher, student and an undistilled baseline the same way, benchmark them.

    Writes every stage under --out/<stage>/, then --out/pipeline.json, tables.md (the paper's
    tables) and summary.png. Run the same command again after an interruption or a recipe edit:
    finished stages are skipped, interrupted ones resume, edited ones and their dependants are
    redone. --fail-under takes the report's metrics, e.g. glue.student.macro_retention=0.97.
    """
    with _ui.command_context(output) as console:
        from distilcli.errors import BadInput
        from distilcli.pipeline.recipe import load_recipe
        from distilcli.pipeline.run import PipelineConfig, plan_pipeline, run_pipeline
        from distilcli.reports.render import render_report

        if print_:
            import yaml

            if recipe is None:
                raise BadInput("missing --recipe: the built-in recipe name or YAML file to print")
            typer.echo(
                yaml.safe_dump(load_recipe(recipe).to_yaml_dict(), sort_keys=False, allow_unicode=True), nl=False
            )
            return

        cfg = _ui.build(
            PipelineConfig,
            config,
            output,
            recipe=recipe,
            out=out,
            corpus=corpus,
            glue_dir=glue_dir,
            hub_dir=hub_dir,
            retrieval_data=retrieval_data,
            fail_under=fail_under or None,
            report_to=joined(report_to),
            tracking_dir=tracking_dir,
            jobs=jobs,
        )
        if dry_run:
            _render_plan(*plan_pipeline(cfg), console)
            return
        with _locked(cfg.out):
            report, outcomes = run_pipeline(cfg)
        render_report(report, console)
        _ui.emit_report(report, output, json_, console)
        _ui.raise_failed_gates(outcomes, ".4f")
