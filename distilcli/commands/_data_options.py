"""Options that say where the data is and how it is read: GLUE and SQuAD files, corpora, columns, lengths."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from distilcli.commands._panels import DATA

GlueDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--glue-dir",
        rich_help_panel=DATA,
        help="GLUE in the original layout: <DIR>/SST-2/train.tsv, dev.tsv, <DIR>/MNLI/dev_matched.tsv ...",
    ),
]
HubDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--hub-dir",
        rich_help_panel=DATA,
        help="Local copy of the hub's nyu-mll/glue parquet files: <DIR>/sst2/train-*.parquet ...",
    ),
]
TrainFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--train-file",
        rich_help_panel=DATA,
        help="Training file: .tsv (GLUE layout), .parquet (hub layout), .csv or .jsonl; SQuAD: the official JSON.",
    ),
]
DevFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--dev-file",
        rich_help_panel=DATA,
        help="Dev file: .tsv (GLUE layout), .parquet (hub layout), .csv or .jsonl; SQuAD: the official JSON "
        "(dev-v1.1.json, dev-v2.0.json or your own in that layout).",
    ),
]
GlueDevFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--dev-file",
        rich_help_panel=DATA,
        help="Dev file of one task: .tsv (GLUE layout), .parquet (hub layout), .csv or .jsonl.",
    ),
]
SquadDevFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--dev-file",
        rich_help_panel=DATA,
        help="Dev file in the official SQuAD JSON layout (dev-v1.1.json, dev-v2.0.json or your own).",
    ),
]
TextAOpt = Annotated[
    str | None,
    typer.Option("--text-a", rich_help_panel=DATA, help="CSV/JSONL: first text column (unset: the hub's name)."),
]
TextBOpt = Annotated[
    str | None,
    typer.Option(
        "--text-b", rich_help_panel=DATA, help="CSV/JSONL: second text column of pair tasks (unset: the hub's name)."
    ),
]
LabelColumnOpt = Annotated[
    str | None,
    typer.Option("--label-column", rich_help_panel=DATA, help="CSV/JSONL: label column (unset: the hub's name)."),
]
MaxSeqLengthOpt = Annotated[
    int | None,
    typer.Option(
        "--max-seq-length",
        rich_help_panel=DATA,
        help="Tokens per example (SQuAD: per window), [CLS]/[SEP] included.",
    ),
]
SeqLengthOpt = Annotated[
    int | None,
    typer.Option("--max-seq-length", rich_help_panel=DATA, help="Tokens per example, [CLS]/[SEP] included."),
]
SquadSeqLengthOpt = Annotated[
    int | None,
    typer.Option("--max-seq-length", rich_help_panel=DATA, help="Tokens per window, [CLS]/[SEP] included."),
]
TrainLimitOpt = Annotated[
    int | None,
    typer.Option(
        "--train-limit",
        rich_help_panel=DATA,
        help="Train on a fixed random subsample of N examples (recorded in the report).",
    ),
]
CorpusOpt = Annotated[
    str | None,
    typer.Option(
        "--corpus",
        rich_help_panel=DATA,
        help="Text file or folder, JSONL, a saved datasets folder, or a hub dataset id.",
    ),
]
TextFieldOpt = Annotated[
    str | None, typer.Option("--text-field", rich_help_panel=DATA, help="Text column of JSONL / datasets corpora.")
]
NumProcOpt = Annotated[
    int | None,
    typer.Option(
        "--num-proc",
        rich_help_panel=DATA,
        help="Worker processes that tokenise the corpus (default 1: the fast tokenizer already uses every core; "
        "more help where Python chunking is the limit, on many cores). The chunks are the same for any count.",
    ),
]
StreamOpt = Annotated[
    bool,
    typer.Option(
        "--stream",
        rich_help_panel=DATA,
        help="Read the corpus as the run trains (no preparation, no cache; a hub dataset is streamed): for corpora "
        "too big to prepare. Needs --max-steps.",
    ),
]
DocumentPerOpt = Annotated[
    str | None,
    typer.Option(
        "--document-per",
        rich_help_panel=DATA,
        help="What one sequence is: a 'line' or a whole 'file' of a text corpus, or each 'sentence' of any corpus "
        "(sentence-shaped inputs, like GLUE's).",
    ),
]
