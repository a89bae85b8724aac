"""The GLUE task table: each task's files, columns, labels and metrics, and name resolution.

Entries are hand-written data, checked when the module is imported, so an inconsistent
entry fails at start-up rather than mid-run. :func:`resolve_task` accepts every usual
spelling of a task name (``SST-2``, ``sst_2``, ``MNLI_matched``).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from distilcli.errors import BadInput
from distilcli.registry import Registry

#: A column named by its header, or by its 0-based position in a headerless file.
Column = str | int


@dataclass(frozen=True)
class TsvColumns:
    """Where a task's fields sit in its original TSV file."""

    text_a: Column
    text_b: Column | None
    label: Column
    #: Headerless layouts only (CoLA): the exact number of fields of every row.
    num_fields: int | None = None
    #: Headerless layouts whose *test* file has a header anyway (CoLA's ``index\tsentence``):
    #: the name of the text column there.
    test_text_a: str | None = None

    @property
    def has_header(self) -> bool:
        return isinstance(self.text_a, str)


@dataclass(frozen=True)
class GlueTask:
    """One GLUE task: where its files live, how to read them and how it is scored."""

    name: str
    display_name: str
    #: Folder in the original layout (``glue_data/<folder>/dev.tsv``).
    folder: str
    dev_file: str
    columns: TsvColumns
    #: Labels as the original TSV writes them, in the hub's label-index order; None for regression.
    labels: tuple[str, ...] | None
    #: The hub's ``ClassLabel`` names, same order as ``labels`` (what ``id2label`` should say).
    label_names: tuple[str, ...] | None
    is_regression: bool
    #: Metric keys as HF ``evaluate``'s glue metric returns them.
    metrics: tuple[str, ...]
    primary_metric: str
    hub_config: str
    hub_dev_split: str
    hub_test_split: str
    hub_text_a: str
    hub_text_b: str | None

    def __post_init__(self) -> None:
        # The table below is hand-written: catch an inconsistent entry at import, not mid-run.
        if self.is_regression != (self.labels is None):
            raise ValueError(f"GLUE task {self.name}: is_regression must be set exactly when labels is None")
        if self.primary_metric not in self.metrics:
            raise ValueError(f"GLUE task {self.name}: primary metric {self.primary_metric!r} not in {self.metrics}")

    @property
    def num_labels(self) -> int:
        """Output units of the classification head (1 for regression)."""
        return 1 if self.labels is None else len(self.labels)


@dataclass
class GlueExample:
    """One example; ``label`` is an index into the task's labels, or a float score for regression."""

    index: int
    text_a: str
    text_b: str | None
    label: int | float | None
    raw_label: str | None


GLUE_TASKS: Registry[GlueTask] = Registry("GLUE task")

_BINARY = ("0", "1")
_NLI3 = ("entailment", "neutral", "contradiction")
_NLI2 = ("entailment", "not_entailment")


def _task(**fields: Any) -> GlueTask:
    fields.setdefault("dev_file", "dev.tsv")
    fields.setdefault("hub_dev_split", "validation")
    fields.setdefault("hub_test_split", "test")
    fields.setdefault("is_regression", fields["labels"] is None)
    fields.setdefault("primary_metric", fields["metrics"][0])
    task = GlueTask(**fields)
    return GLUE_TASKS.register(task.name, task)


_task(
    name="cola",
    display_name="CoLA",
    folder="CoLA",
    # No header; fields: source, label, original label (empty in dev), sentence.
    columns=TsvColumns(text_a=3, text_b=None, label=1, num_fields=4, test_text_a="sentence"),
    labels=_BINARY,
    label_names=("unacceptable", "acceptable"),
    metrics=("matthews_correlation",),
    hub_config="cola",
    hub_text_a="sentence",
    hub_text_b=None,
)
_task(
    name="sst2",
    display_name="SST-2",
    folder="SST-2",
    columns=TsvColumns(text_a="sentence", text_b=None, label="label"),
    labels=_BINARY,
    label_names=("negative", "positive"),
    metrics=("accuracy",),
    hub_config="sst2",
    hub_text_a="sentence",
    hub_text_b=None,
)
_task(
    # The GLUE leaderboard lists MRPC and QQP as "F1 / accuracy": F1 is the headline number.
    name="mrpc",
    display_name="MRPC",
    folder="MRPC",
    columns=TsvColumns(text_a="#1 String", text_b="#2 String", label="Quality"),
    labels=_BINARY,
    label_names=("not_equivalent", "equivalent"),
    metrics=("accuracy", "f1"),
    primary_metric="f1",
    hub_config="mrpc",
    hub_text_a="sentence1",
    hub_text_b="sentence2",
)
_task(
    name="stsb",
    display_name="STS-B",
    folder="STS-B",
    columns=TsvColumns(text_a="sentence1", text_b="sentence2", label="score"),
    labels=None,
    label_names=None,
    metrics=("pearson", "spearmanr"),
    hub_config="stsb",
    hub_text_a="sentence1",
    hub_text_b="sentence2",
)
_task(
    name="qqp",
    display_name="QQP",
    folder="QQP",
    columns=TsvColumns(text_a="question1", text_b="question2", label="is_duplicate"),
    labels=_BINARY,
    label_names=("not_duplicate", "duplicate"),
    metrics=("accuracy", "f1"),
    primary_metric="f1",
    hub_config="qqp",
    hub_text_a="question1",
    hub_text_b="question2",
)
for _name, _display, _which in (("mnli", "MNLI-m", "matched"), ("mnli-mm", "MNLI-mm", "mismatched")):
    _task(
        # Label order is the hub's (entailment=0), so hub ints and TSV strings agree.
        name=_name,
        display_name=_display,
        folder="MNLI",
        dev_file=f"dev_{_which}.tsv",
        columns=TsvColumns(text_a="sentence1", text_b="sentence2", label="gold_label"),
        labels=_NLI3,
        label_names=_NLI3,
        metrics=("accuracy",),
        hub_config="mnli",
        hub_dev_split=f"validation_{_which}",
        hub_test_split=f"test_{_which}",
        hub_text_a="premise",
        hub_text_b="hypothesis",
    )
del _name, _display, _which
_task(
    name="qnli",
    display_name="QNLI",
    folder="QNLI",
    columns=TsvColumns(text_a="question", text_b="sentence", label="label"),
    labels=_NLI2,
    label_names=_NLI2,
    metrics=("accuracy",),
    hub_config="qnli",
    hub_text_a="question",
    hub_text_b="sentence",
)
_task(
    name="rte",
    display_name="RTE",
    folder="RTE",
    columns=TsvColumns(text_a="sentence1", text_b="sentence2", label="label"),
    labels=_NLI2,
    label_names=_NLI2,
    metrics=("accuracy",),
    hub_config="rte",
    hub_text_a="sentence1",
    hub_text_b="sentence2",
)
_task(
    # WNLI's file writes 0/1, and on the hub 0 is not_entailment (the reverse of RTE/QNLI).
    name="wnli",
    display_name="WNLI",
    folder="WNLI",
    columns=TsvColumns(text_a="sentence1", text_b="sentence2", label="label"),
    labels=_BINARY,
    label_names=("not_entailment", "entailment"),
    metrics=("accuracy",),
    hub_config="wnli",
    hub_text_a="sentence1",
    hub_text_b="sentence2",
)


def squash_name(name: str) -> str:
    """A task or folder name without case, hyphens, underscores or spaces (``SST-2`` -> ``sst2``)."""
    return name.strip().lower().replace("-", "").replace("_", "").replace(" ", "")


# Squashed spelling -> task name; every canonical name also resolves through its squashed form.
_ALIASES: dict[str, str] = {squash_name(name): name for name in GLUE_TASKS}
_ALIASES.update(
    {
        "mnlim": "mnli",
        "mnlimatched": "mnli",
        "mnlimismatched": "mnli-mm",
        "stsbenchmark": "stsb",
    }
)


def task_aliases() -> dict[str, str]:
    """Every accepted squashed spelling and the task it names (``mnlimatched`` -> ``mnli``), e.g. for completion."""
    return dict(_ALIASES)


def resolve_task(name: str | GlueTask) -> GlueTask:
    """The task for ``name`` in any usual spelling (``SST-2``, ``sst_2``, ``mnli-mm``, ``MNLI_matched``)."""
    if isinstance(name, GlueTask):
        return name
    key = squash_name(name)
    if key in _ALIASES:
        return GLUE_TASKS.get(_ALIASES[key])
    close = difflib.get_close_matches(key, list(_ALIASES), n=1)
    hint = f"did you mean {_ALIASES[close[0]]!r}? " if close else ""
    raise BadInput(f"unknown GLUE task {name!r}: {hint}known: {', '.join(GLUE_TASKS)}")
