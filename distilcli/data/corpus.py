"""Where training text comes from: files, folders, JSON lines, saved datasets or the hub.

A corpus is named by one string (:class:`CorpusSpec`). Local paths win over hub ids, so a
folder called ``wikitext`` is never mistaken for the hub dataset of that name.

Kinds, in the order they are tried:

``text-file``      a file (any extension but .jsonl/.json/.jsonlines): a document per
                   non-blank line, or the whole file with ``document_per="file"``
``text-folder``    a folder of text files (*.txt, *.tokens, *.text, *.raw or no extension),
                   recursive, sorted, hidden files and folders skipped
``jsonl``          one JSON object per line; the document is its ``text_field``
``saved-dataset``  a folder written by ``Dataset.save_to_disk`` (a DatasetDict: its "train" split)
``hub``            a dataset id loaded with ``datasets.load_dataset(id, split="train")``

With ``document_per="sentence"`` every document of any kind is split further into sentences
(:func:`split_sentences`), so each sentence becomes its own ``[CLS] ... [SEP]`` sequence: the
shape of the inputs GLUE and sentence-embedding users feed the student.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from distilcli.errors import BadInput, first_line

if TYPE_CHECKING:
    import datasets

TEXT_SUFFIXES = frozenset({".txt", ".tokens", ".text", ".raw", ""})
JSONL_SUFFIXES = frozenset({".jsonl", ".json", ".jsonlines"})
# A missing path with one of these suffixes is a typo'd local file, never a hub id.
_LOCAL_ONLY_SUFFIXES = (TEXT_SUFFIXES - {""}) | JSONL_SUFFIXES | {".arrow", ".parquet", ".csv", ".tsv", ".gz", ".zip"}
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?")
DOCUMENT_PER = ("line", "file", "sentence")
# A sentence ends at . ! or ? (closing quotes and brackets kept with it) when whitespace and a
# capital, a digit or an opening quote follow: rule-based, no model to download. Abbreviations
# before a capital ("Dr. Smith") are split too; that costs a short fragment, not wrong text.
_SENTENCE_END = re.compile(r"[.!?]+[\"'\u201d\u2019)\]]*(?=\s+[\"'\u201c\u2018(\[]?[A-Z0-9])")
_BATCH_ROWS = 1000  # rows read at a time from a dataset: bounded memory, few Python calls
_SAMPLE_BYTES = 1 << 20  # how much of a text file check_corpus decodes up front


@dataclass(frozen=True)
class CorpusSpec:
    """Which corpus to read and how to split it into documents."""

    source: str  # path or hub dataset id
    text_field: str = "text"  # for JSONL and datasets
    document_per: str = "line"  # "line" or "file" (for text files/folders), or "sentence" (any kind)


@dataclass(frozen=True)
class _Resolved:
    """A spec checked against the file system: its kind and the files that make it up."""

    kind: str
    path: Path | None  # None for a hub id
    files: tuple[Path, ...]  # the text files read, or every file of a saved dataset


# -- resolving ---------------------------------------------------------------------------------


def _is_hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


def _text_files(folder: Path) -> list[Path]:
    """Text files under ``folder``: recursive, sorted by relative path, hidden ones skipped."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]  # prune hidden folders (.git, .cache)
        for name in files:
            path = Path(root) / name
            if name.startswith(".") or path.suffix.lower() not in TEXT_SUFFIXES or not path.is_file():
                continue
            found.append(path)
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())


def _all_files(folder: Path) -> list[Path]:
    return sorted((p for p in folder.rglob("*") if p.is_file()), key=lambda p: p.relative_to(folder).as_posix())


def _is_saved_dataset(folder: Path) -> bool:
    """True for a folder written by ``Dataset.save_to_disk`` or ``DatasetDict.save_to_disk``."""
    if (folder / "dataset_dict.json").is_file():
        return True
    return (folder / "state.json").is_file() and (folder / "dataset_info.json").is_file()


def looks_like_hub_id(source: str) -> bool:
    """True when ``source`` could be a hub dataset id (``name`` or ``owner/name``) rather than a path."""
    if not _HUB_ID.fullmatch(source):
        return False
    return Path(source).suffix.lower() not in _LOCAL_ONLY_SUFFIXES


def _resolve(spec: CorpusSpec) -> _Resolved:
    """Find the kind of ``spec.source`` and list its files; raises BadInput for what cannot work."""
    if spec.document_per not in DOCUMENT_PER:
        raise BadInput(f"--document-per must be line, file or sentence, not {spec.document_per!r}")
    if not spec.text_field:
        raise BadInput("the text field name is empty: pass --text-field with the column that holds the text")
    if not spec.source:
        raise BadInput("no corpus given: pass a text file, a folder, a .jsonl file or a dataset id")
    path = Path(spec.source).expanduser()
    try:
        exists = path.exists()
    except OSError as exc:
        raise BadInput(f"cannot read corpus {spec.source}: {exc.strerror or exc}") from None
    if not exists:
        if looks_like_hub_id(spec.source):
            return _Resolved("hub", None, ())
        raise BadInput(f"corpus {spec.source} does not exist: check the path")
    if path.is_dir():
        if _is_saved_dataset(path):
            return _Resolved("saved-dataset", path, tuple(_all_files(path)))
        if not os.access(path, os.R_OK | os.X_OK):
            raise BadInput(f"cannot read corpus folder {path}: permission denied")
        files = _text_files(path)
        if not files:
            hint = ""
            if any(p.suffix.lower() in JSONL_SUFFIXES for p in path.rglob("*") if not _is_hidden(p.relative_to(path))):
                hint = " (its .jsonl/.json files are only read one at a time: pass one file)"
            raise BadInput(
                f"corpus folder {path} holds no text files (*.txt, *.tokens, *.text, *.raw or no extension){hint}: "
                "add some or point to a file"
            )
        return _Resolved("text-folder", path, tuple(files))
    if not path.is_file():
        raise BadInput(f"corpus {path} is not a regular file or folder: give a text file, a folder or a .jsonl file")
    kind = "jsonl" if path.suffix.lower() in JSONL_SUFFIXES else "text-file"
    return _Resolved(kind, path, (path,))


# -- reading -----------------------------------------------------------------------------------


def _not_utf8(path: Path, line: int) -> BadInput:
    return BadInput(f"{path} line {line} is not UTF-8 text: re-encode the file as UTF-8 (e.g. with iconv)")


def _unreadable(path: Path, exc: OSError) -> BadInput:
    return BadInput(f"cannot read corpus file {path}: {exc.strerror or exc}")


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, decoded line) pairs; decoding line by line names the exact bad line."""
    try:
        with path.open("rb") as handle:
            for number, raw in enumerate(handle, 1):
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError:
                    raise _not_utf8(path, number) from None
                yield number, (line.removeprefix("\ufeff") if number == 1 else line)
    except OSError as exc:
        raise _unreadable(path, exc) from None


def _whole_file(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _unreadable(path, exc) from None
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise _not_utf8(path, data.count(b"\n", 0, exc.start) + 1) from None


def _text_documents(files: tuple[Path, ...], document_per: str) -> Iterator[str]:
    for path in files:
        if document_per == "file":
            text = _whole_file(path).strip()
            if text:
                yield text
            continue
        for _, line in _lines(path):
            text = line.strip()
            if text:
                yield text


def _jsonl_documents(path: Path, field: str) -> Iterator[str]:
    first = True
    for number, line in _lines(path):
        stripped = line.strip()
        if not stripped:
            continue
        if first and stripped.startswith("["):
            raise BadInput(f"{path} holds a JSON array, not JSON lines: write one JSON object per line (.jsonl)")
        first = False
        try:
            record = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise BadInput(f"{path} line {number} is not valid JSON ({exc.msg}): fix or remove that line") from None
        if not isinstance(record, dict):
            raise BadInput(
                f"{path} line {number} is not a JSON object: write one object per line, like {{{field!r}: ...}}"
            )
        if field not in record:
            names = ", ".join(list(record)[:8]) or "none"
            raise BadInput(f"{path} line {number} has no field {field!r} (fields: {names}): pass --text-field")
        value = record[field]
        if value is None:  # a null text is an empty document, as a blank line is
            continue
        if not isinstance(value, str):
            raise BadInput(f"{path} line {number}: field {field!r} is a {type(value).__name__}, not a string")
        text = value.strip()
        if text:
            yield text


def _checked_column(dataset: datasets.Dataset, field: str, where: str) -> datasets.Dataset:
    """``dataset`` reduced to its text column, after checking that the column holds strings."""
    if field not in dataset.column_names:
        names = ", ".join(dataset.column_names[:8]) or "none"
        raise BadInput(f"{where} has no column {field!r} (columns: {names}): pass --text-field")
    dtype = getattr(dataset.features[field], "dtype", None)
    if dtype not in ("string", "large_string"):
        raise BadInput(f"{where}: column {field!r} holds {dtype or 'nested values'}, not text: pass --text-field")
    return dataset.select_columns([field])


def _open_saved(path: Path, field: str) -> datasets.Dataset:
    import datasets

    try:
        loaded = datasets.load_from_disk(str(path))
    except Exception as exc:  # noqa: BLE001 - damaged or foreign files: datasets raises many kinds
        raise BadInput(
            f"cannot load the saved dataset {path} ({first_line(exc, limit=160)}): save it again with save_to_disk"
        ) from None
    if isinstance(loaded, datasets.DatasetDict):
        if "train" not in loaded:
            raise BadInput(f"saved dataset {path} has no 'train' split (splits: {', '.join(loaded)}): save one")
        loaded = loaded["train"]
    return _checked_column(loaded, field, f"saved dataset {path}")


def _unreachable(source: str, exc: BaseException) -> BadInput:
    return BadInput(
        f"corpus {source!r} is neither a local path nor reachable on the Hugging Face hub "
        f"({first_line(exc, limit=160)}): give an existing file or folder, or a dataset id that can be downloaded"
    )


def _hub_builder(source: str):
    """The hub dataset's builder: resolves the id and its files without downloading the data."""
    import datasets

    try:
        return datasets.load_dataset_builder(source)
    except Exception as exc:  # noqa: BLE001 - offline, unknown id, needs a config: all mean "cannot use it"
        raise _unreachable(source, exc) from None


def _open_hub(source: str, field: str) -> datasets.Dataset:
    import datasets

    try:
        dataset = datasets.load_dataset(source, split="train")
    except Exception as exc:  # noqa: BLE001 - as in _hub_builder
        raise _unreachable(source, exc) from None
    return _checked_column(dataset, field, f"hub dataset {source}")


def _dataset_documents(dataset: datasets.Dataset, field: str) -> Iterator[str]:
    for batch in dataset.iter(batch_size=_BATCH_ROWS):
        for value in batch[field]:
            if value:
                text = value.strip()
                if text:
                    yield text


def _documents(spec: CorpusSpec, resolved: _Resolved) -> Iterator[str]:
    if resolved.kind in ("text-file", "text-folder"):
        return _text_documents(resolved.files, spec.document_per)
    if resolved.kind == "jsonl":
        assert resolved.path is not None
        return _jsonl_documents(resolved.path, spec.text_field)
    if resolved.kind == "saved-dataset":
        assert resolved.path is not None
        return _dataset_documents(_open_saved(resolved.path, spec.text_field), spec.text_field)
    return _dataset_documents(_open_hub(spec.source, spec.text_field), spec.text_field)


def split_sentences(text: str) -> list[str]:
    """``text`` cut into sentences at ``. ! ?`` followed by a capital, digit or opening quote; stripped, none empty."""
    pieces, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        pieces.append(text[start : match.end()].strip())
        start = match.end()
    pieces.append(text[start:].strip())
    return [piece for piece in pieces if piece]


def _empty(spec: CorpusSpec) -> BadInput:
    return BadInput(f"corpus {spec.source} is empty (no non-blank document): give a corpus with some text")


def read_documents(spec: CorpusSpec) -> Iterator[str]:
    """Yield the corpus's documents, stripped, blank ones skipped, in a stable order.

    Raises BadInput (when iterated) for a missing, unreadable, non-UTF-8, malformed or empty corpus.
    """
    found = False
    for document in _documents(spec, _resolve(spec)):
        found = True
        if spec.document_per == "sentence":
            yield from split_sentences(document)
        else:
            yield document
    if not found:
        raise _empty(spec)


# -- checking and fingerprinting ---------------------------------------------------------------


def _check_utf8_prefix(path: Path, size: int) -> None:
    """Decode the first ``size`` bytes of ``path`` so a binary or UTF-16 file fails before training."""
    try:
        with path.open("rb") as handle:
            data = handle.read(size)
    except OSError as exc:
        raise _unreadable(path, exc) from None
    try:
        # An incremental decoder accepts a character cut in half at the end of the sample.
        codecs.getincrementaldecoder("utf-8")().decode(data, final=False)
    except UnicodeDecodeError as exc:
        raise _not_utf8(path, data.count(b"\n", 0, exc.start) + 1) from None


def check_corpus(spec: CorpusSpec) -> None:
    """Cheap validation before any model is loaded: the corpus exists, is readable and has text.

    Decodes the head of each text file and reads up to the first document; a hub id is
    resolved without downloading its data. Raises BadInput naming the problem and the fix.
    """
    resolved = _resolve(spec)
    if resolved.kind == "hub":
        builder = _hub_builder(spec.source)
        info = getattr(builder, "info", None)
        splits, features = getattr(info, "splits", None), getattr(info, "features", None)
        if splits and "train" not in splits:
            raise BadInput(f"hub dataset {spec.source} has no 'train' split (splits: {', '.join(splits)})")
        if features is not None and spec.text_field not in features:
            names = ", ".join(list(features)[:8]) or "none"
            raise BadInput(
                f"hub dataset {spec.source} has no column {spec.text_field!r} (columns: {names}): pass --text-field"
            )
        return
    if resolved.kind in ("text-file", "text-folder", "jsonl"):
        # A small sample per file in a folder keeps this cheap for thousands of files.
        sample = _SAMPLE_BYTES if len(resolved.files) == 1 else 4096
        for path in resolved.files:
            _check_utf8_prefix(path, sample)
    next(read_documents(spec))  # raises BadInput for an empty or malformed head


def corpus_fingerprint(spec: CorpusSpec) -> str:
    """A sha256 hex digest that changes when the corpus changes, without reading its content.

    Local corpora hash their resolved file paths, sizes and modification times; a hub dataset
    hashes the id and the hash ``datasets`` gives its resolved files (needs the hub or its cache).
    """
    resolved = _resolve(spec)
    files = []
    for path in resolved.files:
        try:
            stat = path.stat()
        except OSError as exc:
            raise _unreadable(path, exc) from None
        files.append([str(path.resolve()), stat.st_size, stat.st_mtime_ns])
    parts: dict[str, object] = {
        "kind": resolved.kind,
        "path": str(resolved.path.resolve()) if resolved.path is not None else spec.source,
        "files": files,
        "text_field": spec.text_field,
        "document_per": spec.document_per,
    }
    if resolved.kind == "hub":
        builder = _hub_builder(spec.source)
        parts["hub"] = [getattr(builder, "config_id", None), getattr(builder, "hash", None)]
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode("utf-8")).hexdigest()
