"""GLUE tasks and their readers: the original TSV layout, the hub's parquet files, custom CSV/TSV/JSONL.

Every reader returns :class:`GlueExample` rows whose label is already an index into the
task's labels (or a float score for STS-B), so training and evaluation never see raw
label strings. Problems a user can fix (a short row, a missing column, a label the task
does not know) raise :class:`BadInput` naming ``file:line`` as an editor shows it.

The readers never need a particular folder: callers pass the user's own copy, or use
:func:`load_glue_hub` where the Hugging Face hub is reachable.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from distilcli.errors import BadInput, first_line
from distilcli.registry import Registry

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pyarrow as pa

HUB_DATASET = "nyu-mll/glue"

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
    name="cola", display_name="CoLA", folder="CoLA",
    # No header; fields: source, label, original label (empty in dev), sentence.
    columns=TsvColumns(text_a=3, text_b=None, label=1, num_fields=4, test_text_a="sentence"),
    labels=_BINARY, label_names=("unacceptable", "acceptable"), metrics=("matthews_correlation",),
    hub_config="cola", hub_text_a="sentence", hub_text_b=None,
)  # fmt: skip
_task(
    name="sst2", display_name="SST-2", folder="SST-2",
    columns=TsvColumns(text_a="sentence", text_b=None, label="label"),
    labels=_BINARY, label_names=("negative", "positive"), metrics=("accuracy",),
    hub_config="sst2", hub_text_a="sentence", hub_text_b=None,
)  # fmt: skip
_task(
    # The GLUE leaderboard lists MRPC and QQP as "F1 / accuracy": F1 is the headline number.
    name="mrpc", display_name="MRPC", folder="MRPC",
    columns=TsvColumns(text_a="#1 String", text_b="#2 String", label="Quality"),
    labels=_BINARY, label_names=("not_equivalent", "equivalent"), metrics=("accuracy", "f1"), primary_metric="f1",
    hub_config="mrpc", hub_text_a="sentence1", hub_text_b="sentence2",
)  # fmt: skip
_task(
    name="stsb", display_name="STS-B", folder="STS-B",
    columns=TsvColumns(text_a="sentence1", text_b="sentence2", label="score"),
    labels=None, label_names=None, metrics=("pearson", "spearmanr"),
    hub_config="stsb", hub_text_a="sentence1", hub_text_b="sentence2",
)  # fmt: skip
_task(
    name="qqp", display_name="QQP", folder="QQP",
    columns=TsvColumns(text_a="question1", text_b="question2", label="is_duplicate"),
    labels=_BINARY, label_names=("not_duplicate", "duplicate"), metrics=("accuracy", "f1"), primary_metric="f1",
    hub_config="qqp", hub_text_a="question1", hub_text_b="question2",
)  # fmt: skip
for _name, _display, _which in (("mnli", "MNLI-m", "matched"), ("mnli-mm", "MNLI-mm", "mismatched")):
    _task(
        # Label order is the hub's (entailment=0), so hub ints and TSV strings agree.
        name=_name, display_name=_display, folder="MNLI", dev_file=f"dev_{_which}.tsv",
        columns=TsvColumns(text_a="sentence1", text_b="sentence2", label="gold_label"),
        labels=_NLI3, label_names=_NLI3, metrics=("accuracy",),
        hub_config="mnli", hub_dev_split=f"validation_{_which}", hub_test_split=f"test_{_which}",
        hub_text_a="premise", hub_text_b="hypothesis",
    )  # fmt: skip
del _name, _display, _which
_task(
    name="qnli", display_name="QNLI", folder="QNLI",
    columns=TsvColumns(text_a="question", text_b="sentence", label="label"),
    labels=_NLI2, label_names=_NLI2, metrics=("accuracy",),
    hub_config="qnli", hub_text_a="question", hub_text_b="sentence",
)  # fmt: skip
_task(
    name="rte", display_name="RTE", folder="RTE",
    columns=TsvColumns(text_a="sentence1", text_b="sentence2", label="label"),
    labels=_NLI2, label_names=_NLI2, metrics=("accuracy",),
    hub_config="rte", hub_text_a="sentence1", hub_text_b="sentence2",
)  # fmt: skip
_task(
    # WNLI's file writes 0/1, and on the hub 0 is not_entailment (the reverse of RTE/QNLI).
    name="wnli", display_name="WNLI", folder="WNLI",
    columns=TsvColumns(text_a="sentence1", text_b="sentence2", label="label"),
    labels=_BINARY, label_names=("not_entailment", "entailment"), metrics=("accuracy",),
    hub_config="wnli", hub_text_a="sentence1", hub_text_b="sentence2",
)  # fmt: skip


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


# -- shared helpers ----------------------------------------------------------------------------


def _read_text(path: Path) -> str:
    """The file's text; ``utf-8-sig`` drops the BOM that MRPC's files (and Excel exports) start with."""
    if not path.exists():
        raise BadInput(f"{path}: no such file")
    if path.is_dir():
        raise BadInput(f"{path}: is a folder, expected a file")
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise BadInput(f"{path}:{line}: not valid UTF-8 ({exc.reason} at byte {exc.start})") from None


def _lines(text: str) -> Iterator[tuple[int, str]]:
    """(1-based line number, line) for every non-empty line.

    Split on ``\\n`` only: ``str.splitlines`` would also split on the form feeds and
    Unicode separators that occur inside real sentences. A final ``\\r`` (Windows line
    ends) is dropped; blank lines (a trailing one is common) are skipped.
    """
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if line:
            yield number, line


def _parse_label(
    raw: Any, labels: Sequence[str] | None, where: str, what: str, *, allow_index: bool = False
) -> tuple[int | float, str]:
    """(label index or float score, raw label string), or BadInput naming ``where``."""
    if labels is None:
        try:
            score = float(raw) if not isinstance(raw, bool) else math.nan
        except (TypeError, ValueError):
            score = math.nan
        if not math.isfinite(score):
            raise BadInput(f"{where}: score {raw!r} is not a finite number ({what})")
        return score, str(raw).strip() if isinstance(raw, str) else repr(score)
    text = raw.strip() if isinstance(raw, str) else str(raw)
    if text in labels:
        return labels.index(text), text
    # JSON files often hold label indices (as the hub does) where the labels are names.
    if allow_index and isinstance(raw, int) and not isinstance(raw, bool) and 0 <= raw < len(labels):
        return raw, labels[raw]
    raise BadInput(f"{where}: unknown label {raw!r} for {what} (expected one of: {', '.join(labels)})")


def _labels_expected(name: str) -> bool:
    # Test files and splits carry no labels; every other one (train, dev, a custom eval set) must.
    return not name.lower().startswith("test")


# -- the original TSV layout -------------------------------------------------------------------


def read_glue_tsv(path: str | Path, task: str | GlueTask, *, require_labels: bool | None = None) -> list[GlueExample]:
    """Read a GLUE file in the original ``glue_data`` layout, exactly as the benchmark ships it.

    Quoting is off: QNLI, STS-B and MNLI hold unbalanced ``"`` that a CSV reader would
    swallow whole rows into. Columns are found by header name; CoLA has no header and is
    read by position (its test file, which has an ``index\\tsentence`` header, also works).
    ``require_labels`` defaults to True except for files named ``test*``; when False, a
    file without the label column gives examples with ``label=None``.
    """
    task = resolve_task(task)
    path = Path(path)
    if require_labels is None:
        require_labels = _labels_expected(path.name)
    rows = _lines(_read_text(path))
    spec = task.columns
    first = next(rows, None)
    if first is None:
        return []
    if spec.has_header:
        return _read_headed(path, task, spec, first, rows, require_labels)
    number, line = first
    fields = line.split("\t")
    if spec.test_text_a and spec.test_text_a in fields and len(fields) != spec.num_fields:
        test_spec = TsvColumns(text_a=spec.test_text_a, text_b=None, label="label")
        return _read_headed(path, task, test_spec, first, rows, require_labels)
    return _read_headerless(path, task, spec, [first, *rows])


def _read_headed(
    path: Path,
    task: GlueTask,
    spec: TsvColumns,
    header_line: tuple[int, str],
    rows: Iterator[tuple[int, str]],
    require_labels: bool,
) -> list[GlueExample]:
    number, line = header_line
    header = [name.strip() for name in line.split("\t")]

    def column(name: Column | None, what: str) -> int | None:
        if name is None:
            return None
        if name in header:
            return header.index(str(name))
        raise BadInput(
            f"{path}:{number}: missing {what} column {name!r} for {task.display_name} "
            f"(header has: {', '.join(header)})"
        )

    a = column(spec.text_a, "text")
    b = column(spec.text_b, "text")
    label_at = column(spec.label, "label") if require_labels or spec.label in header else None
    examples = []
    for number, line in rows:
        fields = line.split("\t")
        if len(fields) != len(header):
            raise BadInput(
                f"{path}:{number}: expected {len(header)} tab-separated fields as in the header, "
                f"found {len(fields)} ({task.display_name})"
            )
        examples.append(_example(path, number, task, len(examples), fields, a, b, label_at))
    return examples


def _read_headerless(path: Path, task: GlueTask, spec: TsvColumns, rows: list[tuple[int, str]]) -> list[GlueExample]:
    assert isinstance(spec.text_a, int) and isinstance(spec.label, int) and spec.num_fields
    b = spec.text_b if isinstance(spec.text_b, int) else None
    examples = []
    for number, line in rows:
        fields = line.split("\t")
        if len(fields) != spec.num_fields:
            raise BadInput(
                f"{path}:{number}: expected {spec.num_fields} tab-separated fields "
                f"({task.display_name} has no header), found {len(fields)}"
            )
        examples.append(_example(path, number, task, len(examples), fields, spec.text_a, b, spec.label))
    return examples


def _example(
    path: Path, number: int, task: GlueTask, index: int, fields: list[str], a: int, b: int | None, label_at: int | None
) -> GlueExample:
    label: int | float | None = None
    raw: str | None = None
    if label_at is not None:
        label, raw = _parse_label(fields[label_at], task.labels, f"{path}:{number}", task.display_name)
    return GlueExample(index, fields[a], None if b is None else fields[b], label, raw)


# -- the hub's parquet files -------------------------------------------------------------------


def _parquet_files(root: Path, task: GlueTask, split: str) -> list[Path]:
    """Shards of ``split``: ``root`` itself, ``root/<split>-*.parquet`` or ``root/<config>/<split>-*.parquet``."""
    if root.is_file():
        return [root]
    for folder in (root, root / task.hub_config):
        # "validation-*" does not match "validation_matched-*": the hyphen keeps splits apart.
        files = sorted(folder.glob(f"{split}-*.parquet"))
        if files:
            return files
    return []


def read_glue_parquet(
    path_or_folder: str | Path, task: str | GlueTask, split: str | None = None, *, require_labels: bool | None = None
) -> list[GlueExample]:
    """Read a local copy of the hub's ``nyu-mll/glue`` parquet files.

    ``path_or_folder`` is a parquet file, a config folder (``glue/mnli``) or the repository
    root (``glue``); ``split`` defaults to the task's dev split (``validation_matched`` for
    MNLI). Read with pyarrow: ``Dataset.from_parquet`` would copy every file into the
    datasets cache first. ``index`` is the file's ``idx`` column.
    """
    task = resolve_task(task)
    split = split or task.hub_dev_split
    root = Path(path_or_folder)
    if not root.exists():
        raise BadInput(f"{root}: no such file or folder")
    files = _parquet_files(root, task, split)
    if not files:
        raise BadInput(
            f"{root}: no {split}-*.parquet for {task.display_name} (looked in {root} and {root / task.hub_config})"
        )
    if require_labels is None:
        require_labels = _labels_expected(split)
    import pyarrow.parquet as pq

    examples: list[GlueExample] = []
    for file in files:
        try:
            table = pq.read_table(file)
        except Exception as exc:  # pyarrow raises several types for a damaged or non-parquet file
            raise BadInput(f"{file}: not a readable parquet file ({first_line(exc)})") from None
        examples += _from_arrow(table, task, str(file), require_labels, start=len(examples))
    return examples


def _from_arrow(
    table: pa.Table, task: GlueTask, source: str, require_labels: bool, start: int = 0
) -> list[GlueExample]:
    """Examples from hub-layout columns; the hub writes label -1 where a split has no labels (test)."""
    import pyarrow as pa

    names = table.column_names
    wanted = [task.hub_text_a] + ([task.hub_text_b] if task.hub_text_b else [])
    wanted += ["label"] if require_labels or "label" in names else []
    for name in wanted:
        if name not in names:
            raise BadInput(f"{source}: missing column {name!r} for {task.display_name} (columns: {', '.join(names)})")
    text_a = table.column(task.hub_text_a).to_pylist()
    text_b = table.column(task.hub_text_b).to_pylist() if task.hub_text_b else [None] * len(text_a)
    idx = table.column("idx").to_pylist() if "idx" in names else list(range(start, start + len(text_a)))
    labels: list[Any] = [None] * len(text_a)
    if "label" in names:
        column = table.column("label")
        labels = column.to_pylist()
        if column.type == pa.float32():
            # STS-B scores are stored as float32: 3.8 comes back as 3.799999952...; its shortest
            # float32 repr is the file's 3-decimal score again.
            import numpy as np

            labels = [None if v is None else float(str(np.float32(v))) for v in labels]
    examples = []
    for i, a, b, value in zip(idx, text_a, text_b, labels):
        where = f"{source}: idx {i}"
        label: int | float | None = None
        raw: str | None = None
        if value is None or (task.labels is not None and value == -1):
            if require_labels:
                raise BadInput(f"{where}: no label ({task.display_name}; test splits have none)")
        elif task.labels is None:
            label, raw = _parse_label(value, None, where, task.display_name)
        elif isinstance(value, int) and 0 <= value < len(task.labels):
            label, raw = value, task.labels[value]
        else:
            raise BadInput(f"{where}: label {value!r} out of range for {task.display_name} (0..{task.num_labels - 1})")
        examples.append(GlueExample(int(i), a, b, label, raw))
    return examples


def load_glue_hub(
    task: str | GlueTask, split: str | None = None, *, cache_dir: str | Path | None = None
) -> list[GlueExample]:
    """Download (or reuse the cached) ``nyu-mll/glue`` split with ``datasets``; BadInput when unreachable."""
    task = resolve_task(task)
    split = split or task.hub_dev_split
    import datasets

    from distilcli.models.loading import quiet_hub

    quiet_hub()
    try:
        dataset = datasets.load_dataset(
            HUB_DATASET, task.hub_config, split=split, cache_dir=None if cache_dir is None else str(cache_dir)
        )
    except Exception as exc:  # offline, unknown split, hub outage: all become one line for the user
        raise BadInput(
            f"cannot load {HUB_DATASET} config {task.hub_config!r} split {split!r} from the Hugging Face hub "
            f"({first_line(exc)}); point at a local copy (GLUE TSV folder or the hub's parquet files) instead"
        ) from None
    table = dataset.with_format("arrow")[:]
    return _from_arrow(table, task, f"{HUB_DATASET}/{task.hub_config}[{split}]", _labels_expected(split))


def load_glue_dev(
    task: str | GlueTask, glue_dir: str | Path | None = None, hub_dir: str | Path | None = None
) -> list[GlueExample] | None:
    """The task's dev set from ``glue_dir/<Folder>/<dev file>``, else ``hub_dir``'s parquet, else None.

    None means the task is missing (not a score of zero). A folder that was given but does
    not exist is a BadInput, so a typo does not silently make every task "missing".
    """
    task = resolve_task(task)
    for folder, what in ((glue_dir, "GLUE folder"), (hub_dir, "hub parquet folder")):
        if folder is not None and not Path(folder).is_dir():
            raise BadInput(f"{folder}: {what} does not exist")
    if glue_dir is not None:
        path = Path(glue_dir) / task.folder / task.dev_file
        if path.is_file():
            return read_glue_tsv(path, task, require_labels=True)
    if hub_dir is not None:
        folder = Path(hub_dir) / task.hub_config
        if folder.is_dir() and _parquet_files(folder, task, task.hub_dev_split):
            return read_glue_parquet(folder, task, task.hub_dev_split, require_labels=True)
    return None


# -- custom datasets ---------------------------------------------------------------------------


def read_custom(
    path: str | Path,
    text_a: str,
    text_b: str | None,
    label: str,
    labels: Sequence[str] | None,
    *,
    require_labels: bool = True,
) -> list[GlueExample]:
    """Read a custom task from CSV (quoted as usual), TSV (quoting off, like GLUE) or JSONL.

    Columns are named by header (CSV/TSV) or key (JSONL). ``labels`` lists the label
    strings (index = position); None means regression (float scores). JSONL labels may
    also be integer indices into ``labels``. With ``require_labels=False`` a file without
    the label column gives ``label=None``.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    label_list = None if labels is None else tuple(str(x) for x in labels)
    if suffix in (".jsonl", ".ndjson"):
        records = _jsonl_records(path)
    elif suffix == ".csv":
        records = _table_records(path, _csv_rows(path))
    elif suffix in (".tsv", ".txt"):
        records = _table_records(path, ((n, line.split("\t")) for n, line in _lines(_read_text(path))))
    else:
        raise BadInput(f"{path}: unknown format {suffix or '(no extension)'!r}: use .csv, .tsv or .jsonl")
    what = f"column {label!r}"
    examples = []
    for number, record in records:
        where = f"{path}:{number}"
        a = _text_field(record, text_a, where)
        b = None if text_b is None else _text_field(record, text_b, where)
        value: int | float | None = None
        raw: str | None = None
        if label in record and record[label] is not None:
            value, raw = _parse_label(record[label], label_list, where, what, allow_index=True)
        elif require_labels:
            raise BadInput(f"{where}: missing label column {label!r} (found: {', '.join(map(str, record))})")
        examples.append(GlueExample(len(examples), a, b, value, raw))
    return examples


def _text_field(record: Mapping[str, Any], name: str, where: str) -> str:
    if name not in record:
        raise BadInput(f"{where}: missing text column {name!r} (found: {', '.join(map(str, record))})")
    value = record[name]
    if not isinstance(value, str):
        raise BadInput(f"{where}: column {name!r} is {type(value).__name__}, expected text")
    return value


def _csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(_read_text(path), newline=""))
    try:
        for row in reader:
            if row:  # csv gives [] for a blank line
                # line_num is the record's last physical line: exact for one-line records.
                yield reader.line_num, row
    except csv.Error as exc:
        raise BadInput(f"{path}:{reader.line_num}: not valid CSV ({exc})") from None


def _table_records(path: Path, rows: Iterator[tuple[int, list[str]]]) -> Iterator[tuple[int, dict[str, str]]]:
    first = next(rows, None)
    if first is None:
        return
    header = [name.strip() for name in first[1]]
    for number, fields in rows:
        if len(fields) != len(header):
            raise BadInput(f"{path}:{number}: expected {len(header)} fields as in the header, found {len(fields)}")
        yield number, dict(zip(header, fields))


def _jsonl_records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, line in _lines(_read_text(path)):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BadInput(f"{path}:{number}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(record, dict):
            raise BadInput(f"{path}:{number}: expected a JSON object per line, found {type(record).__name__}")
        yield number, record


# -- one entry point for the commands ----------------------------------------------------------


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

    def label_as_written(self, label: int | float) -> str:
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
        examples = read_custom(
            path, columns.text_a or task.hub_text_a, text_b, columns.label or "label", task.labels
        )
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
    for folder, what in ((glue_dir, "--glue-dir"), (hub_dir, "--hub-dir")):
        if folder is not None and not Path(folder).is_dir():
            raise BadInput(f"{what} {folder}: no such folder")
    if glue_dir is not None:
        path = Path(glue_dir) / task.folder / (task.dev_file if split == "dev" else "train.tsv")
        if path.is_file():
            return GlueSplit(task, split, read_glue_tsv(path, task, require_labels=True), str(path), "tsv")
    hub_split = task.hub_dev_split if split == "dev" else "train"
    if hub_dir is not None:
        # Only the config's own folder: another config's files must never stand in for this task's.
        folder = Path(hub_dir) / task.hub_config
        if folder.is_dir() and _parquet_files(folder, task, hub_split):
            examples = read_glue_parquet(folder, task, hub_split, require_labels=True)
            return GlueSplit(task, split, examples, str(folder), "parquet")
    if use_hub:
        return GlueSplit(task, split, load_glue_hub(task, hub_split), f"{HUB_DATASET}/{task.hub_config}[{hub_split}]", "hub")
    return None
