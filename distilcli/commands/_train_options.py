"""Typer options of the training commands' optimizer, batching and seeds (``finetune``, ``distill``)."""

from __future__ import annotations

from typing import Annotated

import typer

WarmupRatioOpt = Annotated[float | None, typer.Option("--warmup-ratio", help="Share of steps of linear warm-up.")]
WeightDecayOpt = Annotated[float | None, typer.Option("--weight-decay", help="AdamW weight decay (fine-tuning and task distillation: not on biases or LayerNorm).")]
AdamBeta2Opt = Annotated[float | None, typer.Option("--adam-beta2", help="AdamW's second-moment decay.")]
AdamEpsOpt = Annotated[float | None, typer.Option("--adam-eps", help="AdamW's epsilon.")]
MaxGradNormOpt = Annotated[float | None, typer.Option("--max-grad-norm", help="Clip the gradient norm to this.")]
GroupBatchesOpt = Annotated[
    int | None,
    typer.Option("--group-batches", help="Length grouping: batches sorted by length together (default: automatic, at most 50 and at least 8 groups an epoch)."),
]
SeedsOpt = Annotated[
    str | None,
    typer.Option("--seeds", help="Run each seed (e.g. 1,2,3,4,5) in --out/seed-N and report the median, as the DistilBERT paper."),
]
FinalOnlyOpt = Annotated[
    bool,
    typer.Option("--final-only", help="At the end of a successful run, delete its checkpoints: only the final model stays (no --resume after)."),
]
