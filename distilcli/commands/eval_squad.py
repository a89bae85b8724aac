"""``distil eval-squad``: SQuAD v1.1 / v2.0 dev scores with the official scoring; CI gates."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated


from distilcli.commands import _ui
from distilcli.commands._options import ConfigOpt, JsonOpt, OutputOpt, opt


def eval_squad_cmd(
    model: Annotated[str | None, opt("--model", help="A model fine-tuned on SQuAD (folder, alias or hub id).")] = None,
    predictions: Annotated[Path | None, opt("--predictions", help="Score this {question id: answer} JSON file instead of running a model.")] = None,
    null_odds: Annotated[Path | None, opt("--null-odds", help="With --predictions on v2.0: {question id: null odds} JSON; adds best_exact/best_f1 and their thresholds.")] = None,
    dev_file: Annotated[Path | None, opt("--dev-file", help="The official SQuAD JSON (dev-v1.1.json, dev-v2.0.json or your own in that layout).")] = None,
    task: Annotated[str | None, opt("--task", help="squad or squad_v2: the hub's rajpurkar/squad(_v2) when no --dev-file is given.")] = None,
    predictions_out: Annotated[Path | None, opt("--predictions-out", help="Write the predictions in the official {id: answer} format.")] = None,
    nbest_out: Annotated[Path | None, opt("--nbest-out", help="Write the n best answers per question with their logits and probabilities.")] = None,
    null_odds_out: Annotated[Path | None, opt("--null-odds-out", help="v2.0: write {id: null score − best span score}, the official script's --na-prob-file.")] = None,
    fail_under: Annotated[list[str] | None, opt("--fail-under", help="METRIC=VALUE in percent (repeatable), e.g. f1=80 or em=70: exit 3 below it.")] = None,
    max_seq_length: Annotated[int | None, opt("--max-seq-length", help="Tokens per window [default: the model's fine-tuning length, else 384].")] = None,
    doc_stride: Annotated[int | None, opt("--doc-stride", help="Tokens shared by consecutive windows [default: the model's, else 128].")] = None,
    max_query_length: Annotated[int | None, opt("--max-query-length", help="Questions are cut after this many tokens [default: 64].")] = None,
    n_best: Annotated[int | None, opt("--n-best", help="Start and end candidates per window [default: 20].")] = None,
    max_answer_length: Annotated[int | None, opt("--max-answer-length", help="Longest answer in tokens [default: 30].")] = None,
    null_threshold: Annotated[float | None, opt("--null-threshold", help="v2.0: predict no answer when null − best span score exceeds this [default: 0.0].")] = None,
    na_prob_thresh: Annotated[float | None, opt("--na-prob-thresh", help="With --predictions and --null-odds: the official script's threshold [default: 1.0].")] = None,
    batch_size: Annotated[int | None, opt("--batch-size", help="Windows per inference batch [default: 64].")] = None,
    config: ConfigOpt = None,
    output: OutputOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Evaluate a model (or score a predictions file) on SQuAD v1.1/v2.0 with the official scoring."""
    values = dict(locals())
    for name in ("config", "output", "json_", "batch_size"):
        values.pop(name)
    values["eval_batch_size"] = batch_size
    values["fail_under"] = fail_under or None
    with _ui.command_context(output) as console:
        from distilcli.config import build_config
        from distilcli.evaluate.squad_eval import EvalSquadConfig, run_eval_squad
        from distilcli.reports.render import render_report

        cfg = build_config(EvalSquadConfig, config, **values)
        report, outcomes = run_eval_squad(cfg)
        render_report(report, console)
        _ui.emit_report(report, output, json_, console)
        _ui.raise_failed_gates(outcomes, ".2f")
