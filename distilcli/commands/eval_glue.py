"""``distil eval-glue``: GLUE dev-set scores with the official metrics, retention and CI gates."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from distilcli.commands import _ui
from distilcli.commands._eval_options import limit_option
from distilcli.commands._options import (
    BatchSizeOpt,
    ConfigOpt,
    Defaults,
    DevFileOpt,
    FailUnderOpt,
    GlueDirOpt,
    HubDirOpt,
    JsonOpt,
    LabelColumnOpt,
    MaxSeqLengthOpt,
    ModelListOpt,
    OutputOpt,
    PredictionsOutOpt,
    QuantizeOpt,
    TaskOpt,
    TextAOpt,
    TextBOpt,
    UpdateCardOpt,
    field_defaults,
    help_defaults,
)  # fmt: skip

LimitOpt = limit_option("dev examples per task")


def _defaults() -> Defaults:
    from distilcli.evaluate.glue_eval import EvalGlueConfig

    return field_defaults(EvalGlueConfig)


@help_defaults(_defaults)
def eval_glue_cmd(
    model: ModelListOpt = None,
    task: TaskOpt = None,
    glue_dir: GlueDirOpt = None,
    hub_dir: HubDirOpt = None,
    dev_file: DevFileOpt = None,
    text_a: TextAOpt = None,
    text_b: TextBOpt = None,
    label_column: LabelColumnOpt = None,
    batch_size: BatchSizeOpt = None,
    max_seq_length: MaxSeqLengthOpt = None,
    predictions_out: PredictionsOutOpt = None,
    teacher_report: Annotated[Path | None, typer.Option("--teacher-report", help="The teacher's eval-glue report: adds retention per task and macro.")] = None,
    fail_under: FailUnderOpt = None,
    quantize: QuantizeOpt = None,
    update_card: UpdateCardOpt = False,
    limit: LimitOpt = None,
    config: ConfigOpt = None,
    output: OutputOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Evaluate fine-tuned models on GLUE dev sets with the official metrics; --fail-under for CI.

    --task takes one task, a comma-separated list or all; --model is a fine-tuned model, TASK=DIR
    per task (repeat it), or a folder of per-task models. --max-seq-length unset: the length the
    model was fine-tuned with.
    """
    values = dict(locals())
    for name in ("config", "output", "json_"):
        values.pop(name)
    values["model"] = model or None  # typer gives [] when absent: keep the config file's value then
    values["fail_under"] = fail_under or None
    values["update_card"] = update_card or None
    with _ui.command_context(output) as console:
        from distilcli.config import build_config
        from distilcli.evaluate.glue_eval import EvalGlueConfig, run_eval_glue
        from distilcli.reports.render import render_report

        cfg = build_config(EvalGlueConfig, config, **values)
        report, outcomes = run_eval_glue(cfg)
        render_report(report, console)
        _ui.emit_report(report, output, json_, console)
        _ui.raise_failed_gates(outcomes, ".4f")
