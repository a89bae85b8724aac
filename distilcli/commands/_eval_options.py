"""Options of evaluation: during training (when, how to choose the best) and in the eval commands (gates, outputs)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from distilcli.commands._options import split_list
from distilcli.commands._panels import EVALUATION


def limit_option(unit: str) -> Any:
    """``--limit N``, its help naming what N counts for the command (``unit``: "pairs", ...)."""
    return Annotated[
        int | None,
        typer.Option(
            "--limit",
            metavar="N",
            rich_help_panel=EVALUATION,
            help=f"Score a fixed subsample of N {unit}: a seeded random draw (the same every run, as "
            "--train-limit's), kept in file order and recorded in the report. Unset: all of them.",
        ),
    ]


# -- while training -----------------------------------------------------------------------------------

EvalBatchSizeOpt = Annotated[
    int | None, typer.Option("--eval-batch-size", rich_help_panel=EVALUATION, help="Examples per evaluation batch.")
]
EvalEveryOpt = Annotated[
    int | None,
    typer.Option(
        "--eval-every", rich_help_panel=EVALUATION, help="Evaluate on dev every N steps (unset: once per epoch)."
    ),
]
EarlyStoppingOpt = Annotated[
    int | None,
    typer.Option(
        "--early-stopping",
        rich_help_panel=EVALUATION,
        help="Stop after N evaluations without a better primary metric (0: never).",
    ),
]
SelectOnOpt = Annotated[
    str | None,
    typer.Option(
        "--select-on",
        rich_help_panel=EVALUATION,
        help="Where the best checkpoint is chosen: dev, or holdout[:FRACTION] (a fixed 10% of the training data by "
        "default; dev is then scored once, on the chosen model).",
    ),
]

# -- CI gates -----------------------------------------------------------------------------------------


def _gate(examples: str) -> Any:
    return Annotated[
        list[str] | None,
        typer.Option(
            "--fail-under",
            rich_help_panel=EVALUATION,
            callback=split_list,
            metavar="<METRIC=VALUE,...>",
            help=f"Exit 3 when a metric is below VALUE (repeated or comma-separated), e.g. {examples}.",
        ),
    ]


GlueGateOpt = _gate("accuracy=0.9, sst2.accuracy=0.9, macro=0.75 or retention=0.97 (fractions)")
SquadGateOpt = _gate("f1=80 or em=70 (percent)")
StsGateOpt = _gate("spearman=0.8 (every model) or model2.spearman=0.75 (one of them)")
RetrievalGateOpt = _gate("ndcg@10=0.7 (every model), model2.recall@10=0.9 (one of them) or retention=0.95 (fractions)")
PipelineGateOpt = _gate("glue.student.macro_retention=0.97 (the metrics of pipeline.json)")

UpdateCardOpt = Annotated[
    bool,
    typer.Option(
        "--update-card",
        rich_help_panel=EVALUATION,
        help="Write the scores into the evaluated model folder's README.md as Hub model-index results, replacing "
        "earlier ones of the same metric and dataset.",
    ),
]
GluePredictionsOutOpt = Annotated[
    Path | None,
    typer.Option(
        "--predictions-out",
        rich_help_panel=EVALUATION,
        help="Write the predictions here: a TSV of index/prediction per dev row (a folder of <Task>.tsv for several "
        "tasks).",
    ),
]
SquadPredictionsOutOpt = Annotated[
    Path | None,
    typer.Option(
        "--predictions-out",
        rich_help_panel=EVALUATION,
        help="Write the predictions here, as the official {id: answer} JSON.",
    ),
]
