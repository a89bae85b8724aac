"""``distil eval-retrieval``: zero-shot passage retrieval with sentence embeddings, with retention and CI gates."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from distilcli.commands import _ui
from distilcli.commands._data_options import SeqLengthOpt
from distilcli.commands._eval_options import RetrievalGateOpt, limit_option
from distilcli.commands._model_options import StsModelsOpt
from distilcli.commands._options import Defaults, field_defaults, help_defaults
from distilcli.commands._panels import DATA
from distilcli.commands._run_options import ConfigOpt, JsonOpt, OutputOpt
from distilcli.commands._train_options import EvalCommandBatchSizeOpt

LimitOpt = limit_option("queries (searched against the whole collection)")


def _defaults() -> Defaults:
    from distilcli.evaluate.retrieval_eval import EvalRetrievalConfig

    return field_defaults(EvalRetrievalConfig)


@help_defaults(_defaults)
def eval_retrieval_cmd(
    model: StsModelsOpt = None,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            rich_help_panel=DATA,
            help="The collection: a SQuAD-format .json (each question against every paragraph, its own one "
            "relevant), a BEIR folder (corpus.jsonl, queries.jsonl, qrels/test.tsv or qrels.tsv) or one of its "
            "qrels .tsv files, or a .jsonl of {query, positive, negative} lines.",
        ),
    ] = None,
    max_seq_length: SeqLengthOpt = None,
    batch_size: EvalCommandBatchSizeOpt = None,
    limit: LimitOpt = None,
    fail_under: RetrievalGateOpt = None,
    config: ConfigOpt = None,
    output: OutputOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Zero-shot retrieval: embed queries and passages, exact cosine search, nDCG@10, MRR@10, recall@1/10/100.

    Embeddings are pooled as each model's sentence-transformers files say (mean pooling without
    them), as eval-sts does; each distinct passage and query is embedded once, longest first.
    --max-seq-length unset: the model's sentence-transformers max_seq_length, else 128. Several
    --model: each one's retention is its nDCG@10 over the first model's; --fail-under
    ndcg@10=0.7 checks every model, model2.ndcg@10=0.65 one of them.
    """
    values = dict(locals())
    for name in ("config", "output", "json_"):
        values.pop(name)
    values["fail_under"] = fail_under or None
    with _ui.command_context(output) as console:
        from distilcli.config import build_config
        from distilcli.evaluate.retrieval_eval import EvalRetrievalConfig, run_eval_retrieval
        from distilcli.reports.render import render_report

        cfg = build_config(EvalRetrievalConfig, config, **values)
        report, outcomes = run_eval_retrieval(cfg)
        render_report(report, console)
        _ui.emit_report(report, output, json_, console)
        _ui.raise_failed_gates(outcomes, ".4f")
