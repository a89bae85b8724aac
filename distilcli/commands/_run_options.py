"""Options of the run and its outputs (folders, the report, pictures, the config file) and of tracking.

Names mean one thing everywhere: ``--out`` a folder, ``-o/--output`` the JSON report, ``--plot`` a
picture. A flag with a help true only for some commands has one alias per meaning, here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from distilcli.commands._options import list_metavar, split_list
from distilcli.commands._panels import RUN, TRACKING

# -- the report and the config file -----------------------------------------------------------------

OutputOpt = Annotated[
    str | None,
    typer.Option(
        "--output", "-o", rich_help_panel=RUN, help="Write the JSON report exactly to this file (atomically)."
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", rich_help_panel=RUN, help="Also print the JSON report to stdout.")]
ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        rich_help_panel=RUN,
        help="YAML file of options; options given on the command line win.",
        dir_okay=False,
    ),
]

# -- the output folder --------------------------------------------------------------------------------

OverwriteOpt = Annotated[
    bool,
    typer.Option(
        "--overwrite",
        rich_help_panel=RUN,
        help="Replace an output folder an earlier distil run wrote (it holds a .distilcli-run marker) or an empty "
        "one; any other folder is refused.",
    ),
]
ResumeOpt = Annotated[
    bool, typer.Option("--resume", rich_help_panel=RUN, help="Continue the run in --out from its last checkpoint.")
]
OutOpt = Annotated[
    Path | None,
    typer.Option("--out", rich_help_panel=RUN, help="Output folder: the model (top level), checkpoints and run files."),
]
StudentOutOpt = Annotated[
    Path | None,
    typer.Option("--out", rich_help_panel=RUN, help="Output folder of the student (a model folder)."),
]
ExportOutOpt = Annotated[
    Path | None,
    typer.Option(
        "--out",
        rich_help_panel=RUN,
        help="Output folder of the export: the graph (onnx/), tokenizer, config, export.json and a card (README.md).",
    ),
]
PipelineOutOpt = Annotated[
    Path | None,
    typer.Option(
        "--out",
        rich_help_panel=RUN,
        help="Output folder: one sub-folder per stage, then pipeline.json, tables.md and summary.png.",
    ),
]
SaveEveryOpt = Annotated[
    int | None,
    typer.Option(
        "--save-every",
        rich_help_panel=RUN,
        help="Checkpoint every N steps (distillation on a corpus; task distillation checkpoints at each evaluation).",
    ),
]
LogEveryOpt = Annotated[int | None, typer.Option("--log-every", rich_help_panel=RUN, help="Status line every N steps.")]

# -- pictures -----------------------------------------------------------------------------------------

BenchmarkPlotOpt = Annotated[
    Path | None,
    typer.Option(
        "--plot",
        rich_help_panel=RUN,
        help="Also draw median latency against sequence length per model into this .png, .svg or .pdf.",
    ),
]
SuggestPlotOpt = Annotated[
    Path | None,
    typer.Option(
        "--plot",
        rich_help_panel=RUN,
        help="Also draw the heat map of layer similarities into this .png, .svg or .pdf.",
    ),
]
PictureOpt = Annotated[
    Path, typer.Option("--plot", rich_help_panel=RUN, help="The picture to write: .png, .svg or .pdf.")
]

# -- tracking -----------------------------------------------------------------------------------------

ReportToOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--report-to",
        rich_help_panel=TRACKING,
        callback=split_list,
        metavar=list_metavar(str),
        help="Log losses, learning rate, throughput and evaluations to: none, or tensorboard, wandb, mlflow, "
        "trackio (repeat it or separate with commas).",
    ),
]
TrackingDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--tracking-dir",
        rich_help_panel=TRACKING,
        help="Folder of the local trackers (tensorboard, mlflow); unset: OUT/tracking.",
    ),
]
