"""``distil report``: show one report, compare several, plot their curves, make a pipeline's tables again."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from distilcli.commands import _ui
from distilcli.commands._options import HelpCommand, HelpGroup
from distilcli.commands._run_options import JsonOpt, OutputOpt, PictureOpt

app = typer.Typer(
    cls=HelpGroup, help="Show, compare and plot the JSON reports that distil commands write.", no_args_is_help=True
)


@app.command("show", cls=HelpCommand)
def show_cmd(
    file: Annotated[Path, typer.Argument(help="A report written by a distil command.")],
    json_: JsonOpt = False,
) -> None:
    """Render a report: the command's own view, then its metrics and artifacts."""
    with _ui.command_context() as console:
        from distilcli.reports import load_report
        from distilcli.reports.render import render_report

        report = load_report(file)
        render_report(report, console)
        if json_:
            typer.echo(report.to_json(), nl=False)


@app.command("compare", cls=HelpCommand)
def compare_cmd(
    files: Annotated[
        list[Path], typer.Argument(help="Two or more reports; the first is the reference (e.g. the teacher).")
    ],
    output: OutputOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Put the metrics of several reports side by side, with ratios to the first (student/teacher)."""
    with _ui.command_context(output) as console:
        from distilcli.reports.compare import run_compare
        from distilcli.reports.render import render_report

        report = run_compare(files)
        render_report(report, console)
        _ui.emit_report(report, output, json_, console)


@app.command("tables", cls=HelpCommand)
def tables_cmd(
    folder: Annotated[Path, typer.Argument(help="The --out folder of a distil pipeline run (finished or not).")],
    output: OutputOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Make a pipeline's tables.md and summary.png again from its stage reports, and show them."""
    with _ui.command_context(output) as console:
        from distilcli.pipeline.outputs import regenerate
        from distilcli.reports.render import render_report

        report = regenerate(folder)
        render_report(report, console)
        _ui.emit_report(report, output, json_, console)


@app.command("plot", cls=HelpCommand)
def plot_cmd(
    files: Annotated[
        list[Path], typer.Argument(help="Reports of distill, finetune or benchmark runs; several are overlaid.")
    ],
    plot: PictureOpt,
) -> None:
    """Plot the curves of reports: distillation loss terms, fine-tuning loss and dev metric, benchmark latency.

    One panel per quantity; the lines of several reports (e.g. teacher, student and baseline
    fine-tuning runs) share the panels, labelled with each run's output folder.
    """
    with _ui.command_context() as console:
        from distilcli.reports.plot import plot_reports

        fig = plot_reports(files, plot)
        titles = ", ".join(ax.get_title() for ax in fig.axes)
        console.print(f"wrote {plot} ({len(fig.axes)} panels: {titles})")
