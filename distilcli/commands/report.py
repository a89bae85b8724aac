"""``distil report``: show one report, compare several."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from distilcli.commands import _ui
from distilcli.commands._options import JsonOpt, OutputOpt

app = typer.Typer(help="Show and compare the JSON reports that distil commands write.", no_args_is_help=True)


@app.command("show")
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


@app.command("compare")
def compare_cmd(
    files: Annotated[list[Path], typer.Argument(help="Two or more reports; the first is the reference (e.g. the teacher).")],
    output: OutputOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Put the metrics of several reports side by side, with ratios to the first (student/teacher)."""
    with _ui.command_context(output) as console:
        from distilcli.errors import BadInput
        from distilcli.reports import Report, load_report
        from distilcli.reports.compare import compare_reports
        from distilcli.reports.render import render_comparison

        start = time.perf_counter()
        if len(files) < 2:
            raise BadInput("report compare needs at least two report files: the reference first")
        reports = [load_report(path) for path in files]
        comparison = compare_reports(reports, [path.name for path in files])
        render_comparison(comparison, console)
        # Flat metrics: "<metric>.ratio<j>" is report j's value over the reference's.
        metrics = {
            f"{name}.ratio{j}": r
            for name in comparison.metric_names
            for j, r in enumerate(comparison.ratios[name])
            if j and r is not None
        }
        report = Report.create(
            "report compare",
            config={"files": [str(path) for path in files]},
            metrics=metrics,
            body=comparison.to_dict(),
            duration_s=time.perf_counter() - start,
        )
        _ui.emit_report(report, output, json_, console)
