"""One entry point for the commands: a task's train or dev split from whichever source has it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from distilcli.errors import BadInput
from distilcli.tasks.glue.hub import HUB_DATASET, load_glue_hub, parquet_files, read_glue_parquet
from distilcli.tasks.glue.readers import read_custom, read_glue_tsv
from distilcli.tasks.glue.spec import GlueExample, GlueTask, resolve_task


@dataclass
class GlueSplit:
    """A task's examples with where they came from.

    ``kind`` says how the source writes labels, so predictions can be written back the
    same way: ``tsv``/``custom`` write label strings, ``parquet``/``hub`` write indices.
    """

    task: GlueTask
    split: str  # "train" or "dev"
    examples: list[GlueExample]
    source: str
    kind: str

    def label_as_written(self, label: float) -> str:
        """A predicted label as this split's file writes labels (a float for STS-B)."""
        if self.task.labels is None:
            return repr(float(label))
        if self.kind in ("parquet", "hub"):
            return str(int(label))
        return self.task.labels[int(label)]


@dataclass(frozen=True)
class ColumnMap:
    """Custom CSV/JSONL columns; None fields default to the hub's names for the task."""

    text_a: str | None = None
    text_b: str | None = None
    label: str | None = None


def read_task_file(
    path: str | Path, task: str | GlueTask, split: str = "dev", columns: ColumnMap | None = None
) -> GlueSplit:
    """Read one file of ``task`` by its extension.

    ``.tsv`` in the original GLUE layout (or, with ``columns``, any TSV with a header);
    ``.parquet`` in the hub's layout; ``.csv``/``.jsonl`` with ``columns`` (default: the
    hub's column names, e.g. ``sentence``/``label`` for SST-2).
    """
    task = resolve_task(task)
    path = Path(path)
    suffix = path.suffix.lower()
    if columns == ColumnMap():
        columns = None  # no mapping given: a .tsv is in the original GLUE layout
    if suffix == ".parquet":
        return GlueSplit(task, split, read_glue_parquet(path, task, require_labels=True), str(path), "parquet")
    if suffix == ".tsv" and columns is None:
        return GlueSplit(task, split, read_glue_tsv(path, task, require_labels=True), str(path), "tsv")
    if suffix in (".csv", ".tsv", ".jsonl", ".ndjson"):
        columns = columns or ColumnMap()
        text_b = columns.text_b if columns.text_b is not None else task.hub_text_b
        examples = read_custom(path, columns.text_a or task.hub_text_a, text_b, columns.label or "label", task.labels)
        return GlueSplit(task, split, examples, str(path), "custom")
    raise BadInput(f"{path}: unknown format {suffix or '(no extension)'!r}: use .tsv, .parquet, .csv or .jsonl")


def load_task_split(
    task: str | GlueTask,
    split: str,
    *,
    glue_dir: str | Path | None = None,
    hub_dir: str | Path | None = None,
    file: str | Path | None = None,
    columns: ColumnMap | None = None,
    use_hub: bool = False,
) -> GlueSplit | None:
    """``task``'s ``split`` ("train" or "dev") from the first source that has it.

    Order: an explicit ``file``; ``glue_dir/<Folder>/<file>.tsv``; the hub's parquet files
    under ``hub_dir``; the hub itself when ``use_hub``. None when no source has it (a
    missing task, never a score of zero). A folder given but absent is :class:`BadInput`.
    """
    task = resolve_task(task)
    if split not in ("train", "dev"):
        raise ValueError(f"split must be 'train' or 'dev', got {split!r}")
    if file is not None:
        return read_task_file(file, task, split, columns)
    for folder, flag, what in ((glue_dir, "--glue-dir", "GLUE folder"), (hub_dir, "--hub-dir", "hub parquet folder")):
        # A typo must not silently make every task "missing".
        if folder is not None and not Path(folder).is_dir():
            raise BadInput(f"{flag} {folder}: {what} does not exist")
    if glue_dir is not None:
        path = Path(glue_dir) / task.folder / (task.dev_file if split == "dev" else "train.tsv")
        if path.is_file():
            return GlueSplit(task, split, read_glue_tsv(path, task, require_labels=True), str(path), "tsv")
    hub_split = task.hub_dev_split if split == "dev" else "train"
    if hub_dir is not None:
        # Only the config's own folder: another config's files must never stand in for this task's.
        folder = Path(hub_dir) / task.hub_config
        if folder.is_dir() and parquet_files(folder, task, hub_split):
            examples = read_glue_parquet(folder, task, hub_split, require_labels=True)
            return GlueSplit(task, split, examples, str(folder), "parquet")
    if use_hub:
        return GlueSplit(
            task, split, load_glue_hub(task, hub_split), f"{HUB_DATASET}/{task.hub_config}[{hub_split}]", "hub"
        )
    return None
