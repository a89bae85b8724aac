"""Readers of GLUE files: the original TSV layout and custom CSV/TSV/JSONL files.

Every reader returns :class:`GlueExample` rows whose label is already an index into the
task's labels (or a float score for STS-B), so training and evaluation never see raw
label strings. Problems a user can fix (a short row, a missing column, a label the task
does not know) raise :class:`BadInput` naming ``file:line`` as an editor shows it.
The hub's parquet layout is read in :mod:`distilcli.tasks.glue.hub`.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from distilcli.errors import BadInput
from distilcli.tasks.glue.spec import Column, GlueExample, GlueTask, TsvColumns, resolve_task

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


def parse_label(
    raw: Any, labels: Sequence[str] | None, where: str, what: str, *, allow_index: bool = False
) -> tuple[int | float, str]:
    """(label index or float score, raw label string), or BadInput naming ``where``.

    ``labels`` None means regression: ``raw`` must be a finite number. ``what`` names the
    task or column in the message; ``allow_index`` also accepts an integer index.
    """
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


def labels_expected(name: str) -> bool:
    """Whether a file or split called ``name`` must carry labels."""
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
        require_labels = labels_expected(path.name)
    rows = _lines(_read_text(path))
    spec = task.columns
    first = next(rows, None)
    if first is None:
        return []
    if spec.has_header:
        return _read_headed(path, task, spec, first, rows, require_labels)
    _, line = first
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
            f"{path}:{number}: missing {what} column {name!r} for {task.display_name} (header has: {', '.join(header)})"
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
        label, raw = parse_label(fields[label_at], task.labels, f"{path}:{number}", task.display_name)
    return GlueExample(index, fields[a], None if b is None else fields[b], label, raw)


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
            value, raw = parse_label(record[label], label_list, where, what, allow_index=True)
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
