"""``distil eval-sts``: zero-shot semantic similarity of sentence embeddings, with retention and CI gates."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from distilcli.commands import _ui
from distilcli.commands._data_options import GlueDirOpt, HubDirOpt, SeqLengthOpt
from distilcli.commands._eval_options import StsGateOpt, limit_option
from distilcli.commands._model_options import StsModelsOpt
from distilcli.commands._options import Defaults, field_defaults, help_defaults
from distilcli.commands._panels import DATA
from distilcli.commands._run_options import ConfigOpt, JsonOpt, OutputOpt
from distilcli.commands._train_options import EvalCommandBatchSizeOpt

LimitOpt = limit_option("pairs")


def _defaults() -> Defaults:
    from distilcli.evaluate.sts_eval import EvalStsConfig

    return field_defaults(EvalStsConfig)


@help_defaults(_defaults)
def eval_sts_cmd(
    model: StsModelsOpt = None,
    glue_dir: GlueDirOpt = None,
    hub_dir: HubDirOpt = None,
    pairs: Annotated[
        Path | None,
        typer.Option(
            "--pairs",
            rich_help_panel=DATA,
            help="Pairs to score instead of STS-B dev: TSV, CSV or JSONL with sentence1, sentence2, score.",
        ),
    ] = None,
    max_seq_length: SeqLengthOpt = None,
    batch_size: EvalCommandBatchSizeOpt = None,
    limit: LimitOpt = None,
    fail_under: StsGateOpt = None,
    config: ConfigOpt = None,
    output: OutputOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Zero-shot STS: cosine of sentence embeddings against gold similarity (Spearman, Pearson); no fine-tuning.

    Embeddings are pooled as each model's sentence-transformers files say (mean pooling without
    them). --max-seq-length unset: the model's sentence-transformers max_seq_length, else 128.
    Several --model: each one's retention is its Spearman over the first model's; --fail-under
    spearman=0.8 checks every model, model2.spearman=0.75 one of them.
    """
    values = dict(locals())
    for name in ("config", "output", "json_"):
        values.pop(name)
    values["fail_under"] = fail_under or None
    with _ui.command_context(output) as console:
        from distilcli.config import build_config
        from distilcli.evaluate.sts_eval import EvalStsConfig, run_eval_sts
        from distilcli.reports.render import render_report

        cfg = build_config(EvalStsConfig, config, **values)
        report, outcomes = run_eval_sts(cfg)
        render_report(report, console)
        _ui.emit_report(report, output, json_, console)
        _ui.raise_failed_gates(outcomes, ".4f")
