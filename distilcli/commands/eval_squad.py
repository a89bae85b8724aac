"""``distil eval-squad``: SQuAD v1.1 / v2.0 dev scores with the official scoring; CI gates."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from distilcli.commands import _ui
from distilcli.commands._data_options import SquadDevFileOpt, SquadSeqLengthOpt
from distilcli.commands._eval_options import SquadGateOpt, SquadPredictionsOutOpt, UpdateCardOpt, limit_option
from distilcli.commands._model_options import ModelOpt
from distilcli.commands._options import Defaults, field_defaults, help_defaults
from distilcli.commands._panels import EVALUATION
from distilcli.commands._run_options import ConfigOpt, JsonOpt, OutputOpt
from distilcli.commands._task_options import (
    DocStrideOpt,
    MaxAnswerLengthOpt,
    MaxQueryLengthOpt,
    NBestOpt,
    NullThresholdOpt,
    SquadTaskOpt,
)
from distilcli.commands._train_options import EvalCommandBatchSizeOpt

LimitOpt = limit_option("dev questions")

#: eval-squad's --batch-size fills the config's eval_batch_size.
RENAMED = {"eval_batch_size": "batch_size"}


def _defaults() -> Defaults:
    from distilcli.evaluate.squad_eval import EvalSquadConfig

    return field_defaults(EvalSquadConfig, RENAMED)


@help_defaults(_defaults)
def eval_squad_cmd(
    model: ModelOpt = None,
    dev_file: SquadDevFileOpt = None,
    max_seq_length: SquadSeqLengthOpt = None,
    task: SquadTaskOpt = None,
    doc_stride: DocStrideOpt = None,
    max_query_length: MaxQueryLengthOpt = None,
    n_best: NBestOpt = None,
    max_answer_length: MaxAnswerLengthOpt = None,
    null_threshold: NullThresholdOpt = None,
    batch_size: EvalCommandBatchSizeOpt = None,
    limit: LimitOpt = None,
    predictions: Annotated[
        Path | None,
        typer.Option(
            "--predictions",
            rich_help_panel=EVALUATION,
            help="Score this {question id: answer} JSON file instead of running a model.",
        ),
    ] = None,
    null_odds: Annotated[
        Path | None,
        typer.Option(
            "--null-odds",
            rich_help_panel=EVALUATION,
            help="With --predictions on v2.0: {question id: null odds} JSON; "
            "adds best_exact/best_f1 and their thresholds.",
        ),
    ] = None,
    na_prob_thresh: Annotated[
        float | None,
        typer.Option(
            "--na-prob-thresh",
            rich_help_panel=EVALUATION,
            help="With --predictions and --null-odds: the official script's threshold.",
        ),
    ] = None,
    fail_under: SquadGateOpt = None,
    predictions_out: SquadPredictionsOutOpt = None,
    nbest_out: Annotated[
        Path | None,
        typer.Option(
            "--nbest-out",
            rich_help_panel=EVALUATION,
            help="Write the n best answers per question with their logits and probabilities.",
        ),
    ] = None,
    null_odds_out: Annotated[
        Path | None,
        typer.Option(
            "--null-odds-out",
            rich_help_panel=EVALUATION,
            help="v2.0: write {id: null score − best span score}, the official script's --na-prob-file.",
        ),
    ] = None,
    update_card: UpdateCardOpt = False,
    config: ConfigOpt = None,
    output: OutputOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Evaluate a model (or score a predictions file) on SQuAD v1.1/v2.0 with the official scoring.

    Without --dev-file, --task squad or squad_v2 reads the hub's rajpurkar/squad(_v2). Unset
    --max-seq-length, --doc-stride and --max-query-length take the values the model was fine-tuned with.
    """
    values = dict(locals())
    for name in ("config", "output", "json_", "batch_size"):
        values.pop(name)
    values["eval_batch_size"] = batch_size
    values["fail_under"] = fail_under or None
    values["update_card"] = update_card or None
    with _ui.command_context(output) as console:
        from distilcli.config import build_config
        from distilcli.evaluate.squad_eval import EvalSquadConfig, run_eval_squad
        from distilcli.reports.render import render_report

        cfg = build_config(EvalSquadConfig, config, **values)
        report, outcomes = run_eval_squad(cfg)
        render_report(report, console)
        _ui.emit_report(report, output, json_, console)
        _ui.raise_failed_gates(outcomes, ".2f")
