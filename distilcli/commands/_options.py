"""Options shared by several commands, declared once as ``Annotated`` aliases, and help that shows defaults.

Every option defaults to ``None`` (or ``False`` for flags) so that a value from ``--config file.yaml``
is not overridden by a default nobody typed. The defaults therefore live in the command's config
dataclass only, and ``--help`` reads them from there: a command marked with :func:`help_defaults`
and registered with ``cls=DefaultsCommand`` shows ``[default: X]`` for every option that maps to a
config field with a default. The config modules are imported only when help is shown, which keeps
``distil --help`` fast.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from typer.core import TyperCommand

from distilcli.commands._complete import complete_model, complete_quantize, complete_task
from distilcli.commands._print_config import PRINT_CONFIG, print_config_param

F = TypeVar("F", bound=Callable[..., Any])

#: Option parameter name -> its default (a value from a config dataclass, or text for mode-dependent ones).
Defaults = dict[str, object]

# -- the report and the config file -----------------------------------------------------------------

# A string, not a Path: Path("dir/") drops the trailing slash that shows a folder was meant.
TeacherOpt = Annotated[
    str | None,
    typer.Option("--teacher", help="Teacher: a folder, an alias (minilm-l6, mpnet-base) or a hub id.", autocompletion=complete_model),
]
OutputOpt = Annotated[
    str | None,
    typer.Option("--output", "-o", help="Write the JSON report exactly to this file (atomically)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Also print the JSON report to stdout.")]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", help="YAML file of options; options given on the command line win.", dir_okay=False),
]
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", help="Replace an output folder an earlier distil run wrote (it holds a .distilcli-run marker) or an empty one; any other folder is refused.")]
ResumeOpt = Annotated[bool, typer.Option("--resume", help="Continue the run in --out from its last checkpoint.")]
OutOpt = Annotated[
    Path | None,
    typer.Option("--out", help="Output folder: the model (top level), checkpoints and run files."),
]

# -- models and tasks ---------------------------------------------------------------------------------

ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        help="A model: a folder, an alias (minilm-l6, mpnet-base) or a hub id.",
        autocompletion=complete_model,
    ),
]
ModelListOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--model",
        help="A model: a folder, an alias (minilm-l6, mpnet-base) or a hub id; repeat it for several.",
        autocompletion=complete_model,
    ),
]
DistillTaskOpt = Annotated[
    str | None,
    typer.Option(
        "--task",
        help="Task distillation from a teacher fine-tuned on it: a GLUE task (sst2, glue:sst2, SST-2 ...; your own "
        "CSV/JSONL with --train-file), squad or squad_v2; or embeddings (sentence embeddings, on --corpus).",
        autocompletion=complete_task,
    ),
]
TaskOpt = Annotated[
    str | None,
    typer.Option(
        "--task",
        help="The task: a GLUE task (cola, sst2, mrpc, stsb, qqp, mnli, qnli, rte, wnli; any usual spelling), "
        "squad or squad_v2.",
        autocompletion=complete_task,
    ),
]
LayersOpt = Annotated[
    int | None, typer.Option("--layers", help="Student layers, teacher layers spread evenly (unset: half the teacher's).")
]
LayerMapOpt = Annotated[
    str | None,
    typer.Option(
        "--layer-map",
        help="Teacher layers to copy, in order, e.g. 0,2,4 (reference: 0,2,4,7,9,11). distill, models student: 'auto' chooses them by "
        "linear CKA on the corpus (as models suggest-layers does).",
    ),
]
ArchOpt = Annotated[
    str | None,
    typer.Option("--arch", help="Student architecture: the teacher's (unset), or distilbert for a BERT teacher."),
]

# -- data ---------------------------------------------------------------------------------------------

GlueDirOpt = Annotated[
    Path | None,
    typer.Option("--glue-dir", help="GLUE in the original layout: <DIR>/SST-2/train.tsv, dev.tsv, <DIR>/MNLI/dev_matched.tsv ..."),
]
HubDirOpt = Annotated[
    Path | None,
    typer.Option("--hub-dir", help="Local copy of the hub's nyu-mll/glue parquet files: <DIR>/sst2/train-*.parquet ..."),
]
TrainFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--train-file",
        help="Training file: .tsv (GLUE layout), .parquet (hub layout), .csv or .jsonl; SQuAD: the official JSON.",
    ),
]
DevFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--dev-file",
        help="Dev file: .tsv (GLUE layout), .parquet (hub layout), .csv or .jsonl; SQuAD: the official JSON "
        "(dev-v1.1.json, dev-v2.0.json or your own in that layout).",
    ),
]
TextAOpt = Annotated[str | None, typer.Option("--text-a", help="CSV/JSONL: first text column (unset: the hub's name).")]
TextBOpt = Annotated[
    str | None, typer.Option("--text-b", help="CSV/JSONL: second text column of pair tasks (unset: the hub's name).")
]
LabelColumnOpt = Annotated[
    str | None, typer.Option("--label-column", help="CSV/JSONL: label column (unset: the hub's name).")
]
MaxSeqLengthOpt = Annotated[
    int | None,
    typer.Option("--max-seq-length", help="Tokens per example (SQuAD: per window), [CLS]/[SEP] included."),
]

# -- training -----------------------------------------------------------------------------------------

EpochsOpt = Annotated[int | None, typer.Option("--epochs", help="Passes over the training data.")]
MaxStepsOpt = Annotated[int | None, typer.Option("--max-steps", help="Optimizer steps (overrides --epochs).")]
BatchSizeOpt = Annotated[
    int | None, typer.Option("--batch-size", help="Examples per batch (training: per micro-batch and process).")
]
EvalBatchSizeOpt = Annotated[int | None, typer.Option("--eval-batch-size", help="Examples per evaluation batch.")]
GradAccumOpt = Annotated[int | None, typer.Option("--grad-accum", help="Micro-batches per optimizer step.")]
LrOpt = Annotated[float | None, typer.Option("--lr", help="Peak learning rate.")]
SeedOpt = Annotated[int | None, typer.Option("--seed", help="Random seed.")]
PrecisionOpt = Annotated[
    str | None,
    typer.Option("--precision", help="Numeric precision: no (training) or fp32 (benchmark), bf16, or fp16 (GPU only)."),
]
EvalEveryOpt = Annotated[
    int | None, typer.Option("--eval-every", help="Evaluate on dev every N steps (unset: once per epoch).")
]
EarlyStoppingOpt = Annotated[
    int | None,
    typer.Option("--early-stopping", help="Stop after N evaluations without a better primary metric (0: never)."),
]
TrainLimitOpt = Annotated[
    int | None,
    typer.Option("--train-limit", help="Train on a fixed random subsample of N examples (recorded in the report)."),
]
NoLengthGroupingOpt = Annotated[
    bool, typer.Option("--no-length-grouping", help="Random batches instead of length-grouped ones.")
]
LogEveryOpt = Annotated[int | None, typer.Option("--log-every", help="Status line every N steps.")]
ReportToOpt = Annotated[
    str | None,
    typer.Option("--report-to", help="Log losses, learning rate, throughput and evaluations to: none, or a comma list of tensorboard, wandb, mlflow, trackio."),
]
PictureOutOpt = Annotated[Path, typer.Option("--out", help="The picture to write: .png, .svg or .pdf.")]
TrackingDirOpt = Annotated[
    Path | None, typer.Option("--tracking-dir", help="Folder of the local trackers (tensorboard, mlflow); unset: OUT/tracking.")
]

# -- SQuAD --------------------------------------------------------------------------------------------

DocStrideOpt = Annotated[
    int | None, typer.Option("--doc-stride", help="SQuAD: tokens shared by consecutive windows of a long context.")
]
MaxQueryLengthOpt = Annotated[
    int | None, typer.Option("--max-query-length", help="SQuAD: questions are cut after this many tokens.")
]
NBestOpt = Annotated[int | None, typer.Option("--n-best", help="SQuAD: start and end candidates per window.")]
MaxAnswerLengthOpt = Annotated[int | None, typer.Option("--max-answer-length", help="SQuAD: longest answer in tokens.")]
NullThresholdOpt = Annotated[
    float | None,
    typer.Option(
        "--null-threshold", help="SQuAD v2.0: predict no answer when null score − best span score exceeds this."
    ),
]

# -- evaluation ---------------------------------------------------------------------------------------

SelectOnOpt = Annotated[
    str | None,
    typer.Option(
        "--select-on",
        help="Where the best checkpoint is chosen: dev, or holdout[:FRACTION] (a fixed 10% of the training data by "
        "default; dev is then scored once, on the chosen model).",
    ),
]
QuantizeOpt = Annotated[
    str | None,
    typer.Option(
        "--quantize",
        help="none or dynamic-int8 (int8 weights in every linear layer, on the CPU); benchmark takes both, comma-separated.",
        autocompletion=complete_quantize,
    ),
]
CorpusOpt = Annotated[
    str | None,
    typer.Option("--corpus", help="Text file or folder, JSONL, a saved datasets folder, or a hub dataset id."),
]
PlotOpt = Annotated[
    Path | None,
    typer.Option(
        "--plot",
        help="Also draw the result into this .png/.svg/.pdf: benchmark, median latency against sequence length per "
        "model; suggest-layers, the heat map of layer similarities.",
    ),
]
TextFieldOpt = Annotated[str | None, typer.Option("--text-field", help="Text column of JSONL / datasets corpora.")]
DocumentPerOpt = Annotated[
    str | None,
    typer.Option(
        "--document-per",
        help="What one sequence is: a 'line' or a whole 'file' of a text corpus, or each 'sentence' of any corpus "
        "(sentence-shaped inputs, like GLUE's).",
    ),
]
FailUnderOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--fail-under",
        help="METRIC=VALUE (repeatable): exit 3 when a metric is below it, e.g. accuracy=0.9, sst2.accuracy=0.9, "
        "macro=0.75, retention=0.97 (GLUE, fractions), f1=80, em=70 (SQuAD, percent) or spearman=0.8 (STS).",
    ),
]
UpdateCardOpt = Annotated[
    bool,
    typer.Option(
        "--update-card",
        help="Write the scores into the evaluated model folder's README.md as Hub model-index results, replacing "
        "earlier ones of the same metric and dataset.",
    ),
]
PredictionsOutOpt = Annotated[
    Path | None,
    typer.Option(
        "--predictions-out",
        help="Write the predictions here: GLUE, a TSV of index/prediction per dev row (a folder of <Task>.tsv "
        "for several tasks); SQuAD, the official {id: answer} JSON.",
    ),
]


# -- help that shows the config dataclass's defaults ---------------------------------------------------

_PROVIDER = "__help_defaults__"


def help_defaults(provider: Callable[[], Defaults]) -> Callable[[F], F]:
    """Mark a command whose ``--help`` shows the defaults ``provider()`` returns (read only when help is shown).

    Register the command with ``cls=DefaultsCommand`` for the mark to take effect.
    """

    def mark(func: F) -> F:
        setattr(func, _PROVIDER, provider)
        return func

    return mark


def field_defaults(config: type, rename: Mapping[str, str] | None = None) -> Defaults:
    """The defaults of a config dataclass's fields, by option parameter name (``rename``: field -> parameter).

    Fields without a default, or whose default is None or empty, are left out: their help says what unset means.
    """
    rename = rename or {}
    shown: Defaults = {}
    for f in dataclasses.fields(config):
        if f.default is not dataclasses.MISSING:
            value: object = f.default
        elif f.default_factory is not dataclasses.MISSING:
            value = f.default_factory()
        else:
            continue
        if value is not None and value != [] and value != "":
            shown[rename.get(f.name, f.name)] = value
    return shown


def mode_defaults(config: type, variants: Iterable[tuple[str, object]]) -> Defaults:
    """Defaults that depend on the mode, for the fields ``config`` leaves at None.

    ``variants`` are ``(label, resolved config)`` pairs, the plain mode first with an empty label,
    e.g. ``("with --task", cfg)``: a field shows ``"8; 32 with --task"``, each different value once.
    """
    unset = [f.name for f in dataclasses.fields(config) if f.default is None]
    variants = list(variants)
    shown: Defaults = {}
    for name in unset:
        parts: list[str] = []
        seen: list[object] = []
        for index, (label, resolved) in enumerate(variants):
            value = resolved.get(name) if isinstance(resolved, Mapping) else getattr(resolved, name, None)
            if value is None and index == 0:
                break  # unset in the plain mode too (the mode's own switch, e.g. --task): no default
            if value is None or value in seen:
                continue
            seen.append(value)
            parts.append(" ".join(filter(None, (format_default(value), label))))
        if parts:
            shown[name] = "; ".join(parts)
    return shown


def unset_config(config: type[Any], **values: object) -> Any:
    """A ``config`` dataclass with ``values`` and every required field None: to ask the code for its mode defaults."""
    required = {
        f.name: None
        for f in dataclasses.fields(config)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING and f.name not in values
    }
    return config(**required, **values)


def format_default(value: object) -> str:
    """How help shows a default: floats in short form (5e-05, 0.1), lists comma-separated."""
    if isinstance(value, float):
        return format(value, "g")
    if isinstance(value, (list, tuple)):
        return ",".join(format_default(v) for v in value)
    return str(value)


class DefaultsCommand(TyperCommand):
    """A command whose help shows the defaults its :func:`help_defaults` provider reads from the config.

    Every such command (each one with a config dataclass) also gets ``--print-config``: the command
    runs up to :func:`distilcli.config.build_config`, which then stops it with the resolved options.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        names = [p.name for p in self.params]
        # Beside --config, whose file it writes; else last.
        self.params.insert(names.index("config") + 1 if "config" in names else len(names), print_config_param())

    def invoke(self, ctx: Any) -> Any:
        from distilcli.config import PRINT_ONLY

        token = PRINT_ONLY.set(bool(ctx.meta.get(PRINT_CONFIG)))
        try:
            return super().invoke(ctx)
        finally:
            PRINT_ONLY.reset(token)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        if self.help:
            # Rich keeps a docstring's line breaks: rejoin each paragraph so the terminal wraps it.
            self.help = "\n\n".join(" ".join(p.split()) for p in inspect.cleandoc(self.help).split("\n\n"))
        provider = getattr(inspect.unwrap(self.callback), _PROVIDER, None) if self.callback else None
        if provider is not None:
            defaults = provider()
            for param in self.params:
                if param.name in defaults and isinstance(param, typer.core.TyperOption):
                    shown = _shown(param, defaults[param.name])
                    if shown is not None:
                        # Keep the help without a default, so that showing help twice adds it once.
                        alone = getattr(param, "_help_alone", param.help)
                        param._help_alone = alone  # type: ignore[attr-defined]
                        param.help = _with_default(alone, shown, self.rich_markup_mode)
        super().format_help(ctx, formatter)


def _with_default(help_text: str | None, shown: str, markup_mode: object) -> str:
    """``help_text [default: shown]``; the bracket escaped where Rich markup would swallow it as a tag."""
    bracket = "\\[" if markup_mode == "rich" else "["
    return f"{help_text or ''} {bracket}default: {shown}]".strip()


def _shown(param: typer.core.TyperOption, value: object) -> str | None:
    """The text after ``default:``; for an on/off flag pair the flag that is in effect, for a lone flag nothing."""
    if isinstance(value, bool):
        if not param.secondary_opts:
            return None  # --resume, --overwrite: off unless given, nothing to show
        return param.opts[0] if value else param.secondary_opts[0]
    return format_default(value)
