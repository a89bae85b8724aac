"""Options that name models or shape the student: the teacher, models to score, layers, quantization."""

from __future__ import annotations

from typing import Annotated

import typer

from distilcli.commands._complete import complete_model, complete_quantize
from distilcli.commands._options import list_metavar, split_list
from distilcli.commands._panels import MODEL

# A string, not a Path: Path("dir/") drops the trailing slash that shows a folder was meant.
TeacherOpt = Annotated[
    str | None,
    typer.Option(
        "--teacher",
        rich_help_panel=MODEL,
        help="Teacher: a folder, an alias (minilm-l6, mpnet-base) or a hub id.",
        autocompletion=complete_model,
    ),
]
ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        rich_help_panel=MODEL,
        help="A model: a folder, an alias (minilm-l6, mpnet-base) or a hub id.",
        autocompletion=complete_model,
    ),
]
_LIST = {
    "rich_help_panel": MODEL,
    "callback": split_list,
    "metavar": list_metavar(str),
    "autocompletion": complete_model,
}
GlueModelsOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--model",
        help="A fine-tuned model (a folder, an alias or a hub id), TASK=DIR for each task's own, or a folder of "
        "per-task models (DIR/sst2 ...); repeat it or separate with commas.",
        **_LIST,
    ),
]
StsModelsOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--model",
        help="Models to score (folders, aliases or hub ids), repeated or comma-separated; the first is the "
        "reference of the others' retention.",
        **_LIST,
    ),
]
BenchmarkModelsOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--model",
        help="Models to measure (folders, aliases or hub ids), repeated or comma-separated; the first is the "
        "baseline of the ratios.",
        **_LIST,
    ),
]
StudentModelOpt = Annotated[
    str | None,
    typer.Option(
        "--student",
        rich_help_panel=MODEL,
        help="Distill into this existing model instead of one made from the teacher.",
        autocompletion=complete_model,
    ),
]
LayersOpt = Annotated[
    int | None,
    typer.Option(
        "--layers",
        rich_help_panel=MODEL,
        help="Student layers, teacher layers spread evenly (unset: half the teacher's).",
    ),
]
SuggestLayersOpt = Annotated[
    int | None,
    typer.Option(
        "--layers", rich_help_panel=MODEL, help="How many teacher layers to propose (unset: half the teacher's)."
    ),
]
LayerMapOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--layer-map",
        rich_help_panel=MODEL,
        callback=split_list,
        metavar=list_metavar(int),
        help="Teacher layers to copy, in order, e.g. 0,2,4 (reference: 0,2,4,7,9,11), repeated or comma-separated; "
        "'auto' chooses them by linear CKA on --corpus (as models suggest-layers does).",
    ),
]
ArchOpt = Annotated[
    str | None,
    typer.Option(
        "--arch",
        rich_help_panel=MODEL,
        help="Student architecture: the teacher's (unset), or distilbert for a BERT teacher.",
    ),
]
QuantizeOpt = Annotated[
    str | None,
    typer.Option(
        "--quantize",
        rich_help_panel=MODEL,
        help="none, or dynamic-int8: int8 weights in every linear layer, on the CPU.",
        autocompletion=complete_quantize,
    ),
]
QuantizeListOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--quantize",
        rich_help_panel=MODEL,
        callback=split_list,
        metavar=list_metavar(str),
        help="none and/or dynamic-int8 (int8 weights in every linear layer, on the CPU), repeated or comma-separated.",
        autocompletion=complete_quantize,
    ),
]
