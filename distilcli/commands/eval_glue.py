"""``distil eval-glue``: GLUE dev-set scores with the official metrics, retention and CI gates."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from distilcli.commands import _ui
from distilcli.commands._data_options import (
    GlueDevFileOpt,
    GlueDirOpt,
    HubDirOpt,
    LabelColumnOpt,
    SeqLengthOpt,
    TextAOpt,
    TextBOpt,
)
from distilcli.commands._eval_options import GlueGateOpt, GluePredictionsOutOpt, UpdateCardOpt, limit_option
from distilcli.commands._model_options import GlueModelsOpt, QuantizeOpt
from distilcli.commands._options import Defaults, field_defaults, help_defaults, joined
from distilcli.commands._panels import EVALUATION
from distilcli.commands._run_options import ConfigOpt, JsonOpt, OutputOpt
from distilcli.commands._task_options import GlueTasksOpt
from distilcli.commands._train_options import EvalCommandBatchSizeOpt

LimitOpt = limit_option("dev examples per task")


def _defaults() -> Defaults:
    from distilcli.evaluate.glue_eval import EvalGlueConfig

    return field_defaults(EvalGlueConfig)


@help_defaults(_defaults)
def eval_glue_cmd(
    model: GlueModelsOpt = None,
    quantize: QuantizeOpt = None,
    glue_dir: GlueDirOpt = None,
    hub_dir: HubDirOpt = None,
    dev_file: GlueDevFileOpt = None,
    text_a: TextAOpt = None,
    text_b: TextBOpt = None,
    label_column: LabelColumnOpt = None,
    max_seq_length: SeqLengthOpt = None,
    task: GlueTasksOpt = None,
    batch_size: EvalCommandBatchSizeOpt = None,
    limit: LimitOpt = None,
    teacher_report: Annotated[
        Path | None,
        typer.Option(
            "--teacher-report",
            rich_help_panel=EVALUATION,
            help="The teacher's eval-glue report: adds retention per task and macro.",
        ),
    ] = None,
    fail_under: GlueGateOpt = None,
    predictions_out: GluePredictionsOutOpt = None,
    update_card: UpdateCardOpt = False,
    config: ConfigOpt = None,
    output: OutputOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Evaluate fine-tuned models on GLUE dev sets with the official metrics; --fail-under for CI.

    --task takes one task, several (repeated or comma-separated) or all; --model is a fine-tuned model, TASK=DIR
    per task (repeat it), or a folder of per-task models. --max-seq-length unset: the length the
    model was fine-tuned with.
    """
    values = dict(locals())
    for name in ("config", "output", "json_"):
        values.pop(name)
    values["task"] = joined(task)
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
