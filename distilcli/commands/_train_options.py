"""Typer options of training (``finetune``, ``distill``): length, batches, optimizer, precision and seeds.

``--batch-size``, ``--precision`` and ``--seed`` mean something else outside training (an evaluation
batch, a benchmark's number format, a sample's seed): those commands take their own alias, declared here.
"""

from __future__ import annotations

from typing import Annotated

import typer

from distilcli.commands._options import list_metavar, split_list
from distilcli.commands._panels import DATA, EVALUATION, OPTIMISATION, RUN

EpochsOpt = Annotated[
    int | None, typer.Option("--epochs", rich_help_panel=OPTIMISATION, help="Passes over the training data.")
]
MaxStepsOpt = Annotated[
    int | None, typer.Option("--max-steps", rich_help_panel=OPTIMISATION, help="Optimizer steps (overrides --epochs).")
]
BatchSizeOpt = Annotated[
    int | None,
    typer.Option("--batch-size", rich_help_panel=OPTIMISATION, help="Training examples per micro-batch and process."),
]
SuggestBatchSizeOpt = Annotated[
    int | None, typer.Option("--batch-size", rich_help_panel=DATA, help="Sequences per teacher forward pass.")
]
EvalCommandBatchSizeOpt = Annotated[
    int | None, typer.Option("--batch-size", rich_help_panel=EVALUATION, help="Examples per evaluation batch.")
]
GradAccumOpt = Annotated[
    int | None, typer.Option("--grad-accum", rich_help_panel=OPTIMISATION, help="Micro-batches per optimizer step.")
]
LrOpt = Annotated[float | None, typer.Option("--lr", rich_help_panel=OPTIMISATION, help="Peak learning rate.")]
WarmupRatioOpt = Annotated[
    float | None, typer.Option("--warmup-ratio", rich_help_panel=OPTIMISATION, help="Share of steps of linear warm-up.")
]
WeightDecayOpt = Annotated[
    float | None,
    typer.Option(
        "--weight-decay",
        rich_help_panel=OPTIMISATION,
        help="AdamW weight decay (fine-tuning and task distillation: not on biases or LayerNorm).",
    ),
]
AdamBeta1Opt = Annotated[
    float | None, typer.Option("--adam-beta1", rich_help_panel=OPTIMISATION, help="AdamW's first-moment decay.")
]
AdamBeta2Opt = Annotated[
    float | None, typer.Option("--adam-beta2", rich_help_panel=OPTIMISATION, help="AdamW's second-moment decay.")
]
AdamEpsOpt = Annotated[float | None, typer.Option("--adam-eps", rich_help_panel=OPTIMISATION, help="AdamW's epsilon.")]
MaxGradNormOpt = Annotated[
    float | None, typer.Option("--max-grad-norm", rich_help_panel=OPTIMISATION, help="Clip the gradient norm to this.")
]
NoLengthGroupingOpt = Annotated[
    bool,
    typer.Option(
        "--no-length-grouping", rich_help_panel=OPTIMISATION, help="Random batches instead of length-grouped ones."
    ),
]
GroupBatchesOpt = Annotated[
    int | None,
    typer.Option(
        "--group-batches",
        rich_help_panel=OPTIMISATION,
        help="With --length-split 1: batches sorted by length together (default: 50, the reference's).",
    ),
]
LengthSplitOpt = Annotated[
    int | None,
    typer.Option(
        "--length-split",
        help="Random batches, each cut by length into N micro-batches: the gradient of the whole batch, less padding. "
        "1: batches grouped by length across 50 batches instead (faster, but small task sets lose accuracy).",
        rich_help_panel=OPTIMISATION,
    ),
]
PrecisionOpt = Annotated[
    str | None,
    typer.Option(
        "--precision", rich_help_panel=OPTIMISATION, help="Numeric precision: no (float32), bf16, or fp16 (GPU only)."
    ),
]
BenchmarkPrecisionOpt = Annotated[
    str | None,
    typer.Option("--precision", rich_help_panel=RUN, help="Numeric precision: fp32, bf16, or fp16 (GPU only)."),
]
SeedOpt = Annotated[int | None, typer.Option("--seed", rich_help_panel=OPTIMISATION, help="Random seed.")]
SampleSeedOpt = Annotated[
    int | None,
    typer.Option(
        "--seed", rich_help_panel=DATA, help="Seed of the random draws (samples, synthetic inputs, new weights)."
    ),
]
SeedsOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--seeds",
        rich_help_panel=OPTIMISATION,
        callback=split_list,
        metavar=list_metavar(int),
        help="Run each seed (e.g. 1,2,3,4,5; repeated or comma-separated) in --out/seed-N and report the median, as "
        "the DistilBERT paper.",
    ),
]
FinalOnlyOpt = Annotated[
    bool,
    typer.Option(
        "--final-only",
        rich_help_panel=RUN,
        help="At the end of a successful run, delete its checkpoints: only the final model stays (no --resume after).",
    ),
]
