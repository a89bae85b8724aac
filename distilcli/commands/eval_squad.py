"""``distil eval-squad``: SQuAD v1.1 / v2.0 dev scores with the official scoring; CI gates."""

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
    DocStrideOpt,
    FailUnderOpt,
    JsonOpt,
    MaxAnswerLengthOpt,
    MaxQueryLengthOpt,
    MaxSeqLengthOpt,
    ModelOpt,
    NBestOpt,
    NullThresholdOpt,
    OutputOpt,
    PredictionsOutOpt,
    TaskOpt,
    UpdateCardOpt,
    field_defaults,
    help_defaults,
)  # fmt: skip

LimitOpt = limit_option("dev questions")

#: eval-squad's --batch-size fills the config's eval_batch_size.
RENAMED = {"eval_batch_size": "batch_size"}


def _defaults() -> Defaults:
    from distilcli.evaluate.squad_eval import EvalSquadConfig

    return field_defaults(EvalSquadConfig, RENAMED)


@help_defaults(_defaults)
def eval_squad_cmd(
    model: ModelOpt = None,
    predictions: Annotated[Path | None, typer.Option("--predictions", help="Score this {question id: answer} JSON file instead of running a model.")] = None,
    null_odds: Annotated[Path | None, typer.Option("--null-odds", help="With --predictions on v2.0: {question id: null odds} JSON; adds best_exact/best_f1 and their thresholds.")] = None,
    dev_file: DevFileOpt = None,
    task: TaskOpt = None,
    predictions_out: PredictionsOutOpt = None,
    nbest_out: Annotated[Path | None, typer.Option("--nbest-out", help="Write the n best answers per question with their logits and probabilities.")] = None,
    null_odds_out: Annotated[Path | None, typer.Option("--null-odds-out", help="v2.0: write {id: null score − best span score}, the official script's --na-prob-file.")] = None,
    fail_under: FailUnderOpt = None,
    max_seq_length: MaxSeqLengthOpt = None,
    doc_stride: DocStrideOpt = None,
    max_query_length: MaxQueryLengthOpt = None,
    n_best: NBestOpt = None,
    max_answer_length: MaxAnswerLengthOpt = None,
    null_threshold: NullThresholdOpt = None,
    na_prob_thresh: Annotated[float | None, typer.Option("--na-prob-thresh", help="With --predictions and --null-odds: the official script's threshold.")] = None,
    batch_size: BatchSizeOpt = None,
    update_card: UpdateCardOpt = False,
    limit: LimitOpt = None,
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
