"""Retrieval test collections: queries, passages and relevance judgements, for ``distil eval-retrieval``.

Three layouts, told apart by the path:

- a SQuAD-format ``.json`` file (v1.1 or v2.0): every question is a query, every distinct
  paragraph a passage, and a question's one relevant passage is its own paragraph (grade 1);
- a BEIR folder: ``corpus.jsonl`` (``_id``, ``title``, ``text``), ``queries.jsonl`` (``_id``,
  ``text``) and ``qrels/test.tsv`` or ``qrels.tsv`` (``query-id``, ``corpus-id``, ``score``: the
  relevance grade, an integer); or a qrels ``.tsv`` file itself, inside such a folder, to pick
  another split. A passage's text is its title and text joined by a space, as BEIR embeds it;
- a ``.jsonl`` file of ``{"query": ..., "positive": [...], "negative": [...]}`` lines (``positive``
  and ``negative`` a string or a list; ``negative`` optional; ``id`` optional), and
  ``{"passage": ...}`` lines adding passages no query is judged against. Passages are the
  distinct texts; each positive has grade 1.

As in BEIR, only queries with a judgement are scored, and a grade of 0 or less means not
relevant; queries whose judgements hold no relevant passage are left out (and counted). A
judgement naming a query or passage the files do not have is bad input, as is an empty
collection.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from distilcli.errors import BadInput, first_line
from distilcli.tasks.squad.data import read_squad_json


@dataclass(frozen=True)
class RetrievalSet:
    """The queries to score, the whole collection, and each query's judged passages with their grades."""

    query_ids: list[str]
    queries: list[str]
    passage_ids: list[str]
    passages: list[str]
    #: Query id -> passage id -> grade (only grades above 0: the relevant passages).
    qrels: dict[str, dict[str, int]]
    source: str
    kind: str  # "squad", "beir" or "jsonl"
    #: Judged queries left out because no judgement of theirs is above 0.
    without_relevant: int = 0

    def __len__(self) -> int:
        return len(self.query_ids)

    def subset(self, rows: list[int]) -> RetrievalSet:
        """The same collection with the queries at ``rows`` only."""
        ids = [self.query_ids[i] for i in rows]
        return replace(
            self, query_ids=ids, queries=[self.queries[i] for i in rows], qrels={q: self.qrels[q] for q in ids}
        )


def load_retrieval(path: Path | None) -> RetrievalSet:
    """The collection at ``path`` (a SQuAD ``.json``, a BEIR folder or qrels ``.tsv``, or a ``.jsonl``)."""
    if path is None:
        raise BadInput(
            "no collection to search: pass --data with a SQuAD-format .json, a BEIR folder (corpus.jsonl, "
            "queries.jsonl, qrels/test.tsv) or a .jsonl of query/positive lines"
        )
    path = Path(path)
    if path.is_dir():
        found = _beir(path, _qrels_file(path), str(path))
    elif not path.is_file():
        raise BadInput(f"--data {path}: no such file or folder")
    elif path.suffix.lower() == ".json":
        found = _squad(path)
    elif path.suffix.lower() == ".jsonl":
        found = _jsonl(path)
    elif path.suffix.lower() == ".tsv":
        folder = path.parent if (path.parent / "corpus.jsonl").is_file() else path.parent.parent
        found = _beir(folder, path, str(path))
    else:
        raise BadInput(
            f"--data {path}: expected a SQuAD-format .json, a BEIR folder or its qrels .tsv, or a .jsonl file"
        )
    if not found.passages:
        raise BadInput(f"{found.source}: the collection has no passages")
    if not found.query_ids:
        raise BadInput(f"{found.source}: no query has a relevant passage (a judgement with a grade above 0)")
    return found


# -- SQuAD ------------------------------------------------------------------------------------------


def _squad(path: Path) -> RetrievalSet:
    """Every question against every distinct paragraph; its own paragraph is its relevant passage."""
    split = read_squad_json(path)
    passage_of: dict[str, str] = {}
    per_article: dict[int, int] = {}
    for example in split.examples:
        if example.context not in passage_of:
            number = per_article.get(example.article, 0)
            per_article[example.article] = number + 1
            passage_of[example.context] = f"{example.title or example.article}#{number}"
    examples = split.examples
    return RetrievalSet(
        query_ids=[e.id for e in examples],
        queries=[e.question for e in examples],
        passage_ids=list(passage_of.values()),
        passages=list(passage_of),
        qrels={e.id: {passage_of[e.context]: 1} for e in examples},
        source=str(path),
        kind="squad",
    )


# -- BEIR -------------------------------------------------------------------------------------------


def _qrels_file(folder: Path) -> Path:
    for candidate in (folder / "qrels" / "test.tsv", folder / "qrels.tsv"):
        if candidate.is_file():
            return candidate
    others = sorted(p.name for p in (folder / "qrels").glob("*.tsv")) if (folder / "qrels").is_dir() else []
    hint = f"; to use another split pass the file itself, e.g. --data {folder / 'qrels' / others[0]}" if others else ""
    raise BadInput(f"--data {folder}: no qrels/test.tsv or qrels.tsv (query-id, corpus-id, score){hint}")


def _json_lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) of each non-blank line; BadInput naming the line otherwise."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput(f"{path}: not UTF-8 text ({first_line(exc)})") from None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BadInput(f"{path} line {number}: not valid JSON ({exc.msg})") from None
        if not isinstance(record, dict):
            raise BadInput(f"{path} line {number}: expected a JSON object, found {type(record).__name__}")
        yield number, record


def _text(record: dict[str, Any], name: str, where: str, required: bool = True) -> str:
    value = record.get(name, None if required else "")
    if value is None and required:
        raise BadInput(f"{where}: missing field {name!r}")
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise BadInput(f"{where}: field {name!r} should be a string, found {type(value).__name__}")
    return str(value)


def _records(path: Path, with_title: bool) -> dict[str, str]:
    """``_id`` -> text of a BEIR corpus or queries file (the corpus's text is title + ' ' + text)."""
    if not path.is_file():
        raise BadInput(f"{path}: no such file (a BEIR folder has corpus.jsonl and queries.jsonl)")
    found: dict[str, str] = {}
    for number, record in _json_lines(path):
        where = f"{path} line {number}"
        key = _text(record, "_id", where)
        if key in found:
            raise BadInput(f"{where}: _id {key!r} appears twice")
        text = _text(record, "text", where)
        found[key] = (_text(record, "title", where, required=False) + " " + text).strip() if with_title else text
    return found


def _read_qrels(path: Path) -> list[tuple[str, str, int]]:
    """(query id, passage id, grade) rows of a BEIR qrels TSV, its header skipped."""
    rows = []
    with path.open(encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE), 1):
            if not row or not "".join(row).strip():
                continue
            if len(row) < 3:
                raise BadInput(
                    f"{path} line {number}: expected query-id, corpus-id and score, found {len(row)} column(s)"
                )
            try:
                grade = int(row[2])
            except ValueError:
                if number == 1:
                    continue  # the header
                raise BadInput(f"{path} line {number}: score {row[2]!r} is not an integer relevance grade") from None
            rows.append((row[0], row[1], grade))
    return rows


def _beir(folder: Path, qrels_path: Path, source: str) -> RetrievalSet:
    corpus = _records(folder / "corpus.jsonl", with_title=True)
    queries = _records(folder / "queries.jsonl", with_title=False)
    judged: dict[str, dict[str, int]] = {}
    for query, passage, grade in _read_qrels(qrels_path):
        if query not in queries:
            raise BadInput(f"{qrels_path}: query-id {query!r} is not in {folder / 'queries.jsonl'}")
        if passage not in corpus:
            raise BadInput(f"{qrels_path}: corpus-id {passage!r} is not in {folder / 'corpus.jsonl'}")
        judged.setdefault(query, {})[passage] = grade
    return _judged(queries, corpus, judged, source, "beir")


def _judged(
    queries: dict[str, str], corpus: dict[str, str], judged: dict[str, dict[str, int]], source: str, kind: str
) -> RetrievalSet:
    """The judged queries that have a relevant passage, in the queries' order."""
    qrels = {q: {p: g for p, g in judged[q].items() if g > 0} for q in queries if q in judged}
    kept = [q for q, relevant in qrels.items() if relevant]
    return RetrievalSet(
        query_ids=kept,
        queries=[queries[q] for q in kept],
        passage_ids=list(corpus),
        passages=list(corpus.values()),
        qrels={q: qrels[q] for q in kept},
        source=source,
        kind=kind,
        without_relevant=len(qrels) - len(kept),
    )


# -- JSONL: one query and its positives a line --------------------------------------------------------


def _texts(record: dict[str, Any], name: str, where: str) -> list[str]:
    value = record.get(name, [])
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
        raise BadInput(f"{where}: field {name!r} should be a non-empty string or a list of them")
    return values


def _jsonl(path: Path) -> RetrievalSet:
    corpus: dict[str, str] = {}  # text -> passage id, in first-seen order
    queries: dict[str, str] = {}
    judged: dict[str, dict[str, int]] = {}

    def passage(text: str) -> str:
        return corpus.setdefault(text, f"p{len(corpus)}")

    for number, record in _json_lines(path):
        where = f"{path} line {number}"
        if "query" not in record:
            if "passage" not in record:
                raise BadInput(f"{where}: expected a query line (query, positive) or a passage line (passage)")
            for text in _texts(record, "passage", where):
                passage(text)
            continue
        key = _text(record, "id", where) if "id" in record else f"q{number}"
        if key in queries:
            raise BadInput(f"{where}: query id {key!r} appears twice")
        queries[key] = _text(record, "query", where)
        if not record.get("positive"):
            raise BadInput(f"{where}: a query line needs 'positive': its relevant passage(s)")
        judged[key] = {passage(text): 1 for text in _texts(record, "positive", where)}
        for text in _texts(record, "negative", where):
            passage(text)
    return _judged(queries, {pid: text for text, pid in corpus.items()}, judged, str(path), "jsonl")
