"""``distil eval-glue``: GLUE dev-set scores with the official metrics, retention and CI gates."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated


from distilcli.commands import _ui
from distilcli.commands._options import ConfigOpt, JsonOpt, OutputOpt, opt


def eval_glue_cmd(
    model: Annotated[list[str] | None, opt("--model", help="Fine-tuned model folder; TASK=DIR per task, or a folder of per-task models (repeatable).")] = None,
    task: Annotated[str | None, opt("--task", help="A GLUE task, a comma-separated list, or all [default: all].")] = None,
    glue_dir: Annotated[Path | None, opt("--glue-dir", help="GLUE in the original layout: <DIR>/SST-2/dev.tsv, <DIR>/MNLI/dev_matched.tsv ...")] = None,
    hub_dir: Annotated[Path | None, opt("--hub-dir", help="Local copy of the hub's nyu-mll/glue parquet files: <DIR>/mnli/validation_matched-*.parquet ...")] = None,
    dev_file: Annotated[Path | None, opt("--dev-file", help="One task's dev file: .tsv (GLUE layout), .parquet (hub layout), .csv or .jsonl.")] = None,
    text_a: Annotated[str | None, opt("--text-a", help="CSV/JSONL: first text column [default: the hub's].")] = None,
    text_b: Annotated[str | None, opt("--text-b", help="CSV/JSONL: second text column [default: the hub's].")] = None,
    label_column: Annotated[str | None, opt("--label-column", help="CSV/JSONL: label column [default: label].")] = None,
    batch_size: Annotated[int | None, opt("--batch-size", help="Examples per batch [default: 128].")] = None,
    max_seq_length: Annotated[int | None, opt("--max-seq-length", help="Truncation length [default: the model's fine-tuning length, else 128].")] = None,
    predictions_out: Annotated[Path | None, opt("--predictions-out", help="TSV of index/prediction per dev row (a folder of <Task>.tsv for several tasks).")] = None,
    teacher_report: Annotated[Path | None, opt("--teacher-report", help="The teacher's eval-glue report: adds retention per task and macro.")] = None,
    fail_under: Annotated[list[str] | None, opt("--fail-under", help="METRIC=VALUE (repeatable), e.g. accuracy=0.9, sst2.accuracy=0.9, macro=0.75, retention=0.97: exit 3 below it.")] = None,
    config: ConfigOpt = None,
    output: OutputOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Evaluate fine-tuned models on GLUE dev sets with the official metrics; --fail-under for CI."""
    values = dict(locals())
    for name in ("config", "output", "json_"):
        values.pop(name)
    values["model"] = model or None  # typer gives [] when absent: keep the config file's value then
    values["fail_under"] = fail_under or None
    with _ui.command_context(output) as console:
        from distilcli.config import build_config
        from distilcli.evaluate.glue_eval import EvalGlueConfig, run_eval_glue
        from distilcli.reports.render import render_report

        cfg = build_config(EvalGlueConfig, config, **values)
        report, outcomes = run_eval_glue(cfg)
        render_report(report, console)
        _ui.emit_report(report, output, json_, console)
        _ui.raise_failed_gates(outcomes, ".4f")
