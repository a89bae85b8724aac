"""``--task`` in each command's own form, and the options of SQuAD's windows and answers."""

from __future__ import annotations

from typing import Annotated

import typer

from distilcli.commands._complete import complete_task
from distilcli.commands._options import list_metavar, split_list
from distilcli.commands._panels import TASK

DistillTaskOpt = Annotated[
    str | None,
    typer.Option(
        "--task",
        rich_help_panel=TASK,
        help="Task distillation from a teacher fine-tuned on it: a GLUE task (sst2, glue:sst2, SST-2 ...; your own "
        "CSV/JSONL with --train-file), squad or squad_v2; or embeddings (sentence embeddings, on --corpus).",
        autocompletion=complete_task,
    ),
]
TaskOpt = Annotated[
    str | None,
    typer.Option(
        "--task",
        rich_help_panel=TASK,
        help="The task: a GLUE task (cola, sst2, mrpc, stsb, qqp, mnli, qnli, rte, wnli; any usual spelling), "
        "squad or squad_v2.",
        autocompletion=complete_task,
    ),
]
ExportTaskOpt = Annotated[
    str | None,
    typer.Option(
        "--task",
        rich_help_panel=TASK,
        help="A classifier's GLUE task (sst2, mrpc, stsb ...; unset: the one its config records), or stsb for a "
        "sentence encoder (zero-shot STS-B). With a dev set the task metric of the graph is put beside PyTorch's.",
        autocompletion=complete_task,
    ),
]
GlueTasksOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--task",
        rich_help_panel=TASK,
        callback=split_list,
        metavar=list_metavar(str),
        help="GLUE tasks (cola, sst2, mrpc, stsb, qqp, mnli, mnli-mm, qnli, rte, wnli; any usual spelling), "
        "repeated or comma-separated, or all.",
        autocompletion=complete_task,
    ),
]
SquadTaskOpt = Annotated[
    str | None,
    typer.Option(
        "--task",
        rich_help_panel=TASK,
        help="squad (v1.1) or squad_v2 (v2.0, with unanswerable questions).",
        autocompletion=complete_task,
    ),
]

# -- SQuAD --------------------------------------------------------------------------------------------

DocStrideOpt = Annotated[
    int | None,
    typer.Option(
        "--doc-stride", rich_help_panel=TASK, help="SQuAD: tokens shared by consecutive windows of a long context."
    ),
]
MaxQueryLengthOpt = Annotated[
    int | None,
    typer.Option("--max-query-length", rich_help_panel=TASK, help="SQuAD: questions are cut after this many tokens."),
]
NBestOpt = Annotated[
    int | None, typer.Option("--n-best", rich_help_panel=TASK, help="SQuAD: start and end candidates per window.")
]
MaxAnswerLengthOpt = Annotated[
    int | None, typer.Option("--max-answer-length", rich_help_panel=TASK, help="SQuAD: longest answer in tokens.")
]
NullThresholdOpt = Annotated[
    float | None,
    typer.Option(
        "--null-threshold",
        rich_help_panel=TASK,
        help="SQuAD v2.0: predict no answer when null score − best span score exceeds this.",
    ),
]
