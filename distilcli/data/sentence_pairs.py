"""One corpus read by two tokenizers: every sentence as the teacher's ids and as the student's, row for row.

A student whose tokenizer is not the teacher's cannot read the teacher's token chunks: each model
tokenises the raw sentence itself. Each sentence is one sequence for both (``[CLS] ... [SEP]`` in
each tokenizer's own special tokens), truncated at ``max_seq_length`` as sentence-transformers
truncates at inference, never cut into chunks (the two tokenizers would cut it at different words).
A sentence is kept when the teacher's sequence has at least ``min_tokens`` ids and neither sequence
is half or more unknown tokens, the chunking rules of :mod:`distilcli.data.chunk_rules`. The rows
are held in memory as int32 arrays (no cache on disk: the corpus is tokenised at every start).

With ``group`` > 1 the texts come in groups that belong together (a query and its passage,
:mod:`distilcli.data.query_passage`): a group is kept or dropped whole, so row ``group * k + j``
is always the ``j``-th text of the ``k``-th kept group.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from distilcli import progress
from distilcli.data.corpus import CorpusSpec, read_documents
from distilcli.data.token_rows import TokenRows
from distilcli.errors import BadInput

BATCH_SENTENCES = 1000  # sentences per tokenizer call


@dataclass
class PairStats:
    """What happened to the sentences: kept, dropped (and why), truncated by either tokenizer."""

    sentences: int = 0
    kept: int = 0
    too_short: int = 0
    mostly_unknown: int = 0
    truncated: int = 0


@dataclass
class SentencePairs:
    """The kept sentences in both tokenizers' ids: row ``i`` of each is the same sentence."""

    teacher: TokenRows
    student: TokenRows
    stats: PairStats


def _mostly_unknown(ids: list[int], unk: int | None) -> bool:
    return unk is not None and 2 * ids.count(unk) >= len(ids)


def _encode(tokenizer: Any, texts: list[str], max_seq_length: int) -> list[list[int]]:
    return tokenizer(
        texts,
        add_special_tokens=True,
        truncation=True,
        max_length=max_seq_length,
        return_attention_mask=False,
        return_token_type_ids=False,
    )["input_ids"]


def _part(rows: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """(values, offsets) of ``rows``: one part of a :class:`TokenRows`."""
    lengths = np.fromiter((len(row) for row in rows), dtype=np.int64, count=len(rows))
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    values = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.int32, count=int(offsets[-1]))
    return values, offsets


def _batches(texts: Iterable[str], size: int) -> Iterator[list[str]]:
    documents = iter(texts)
    while batch := list(itertools.islice(documents, size)):
        yield batch


def tokenize_pairs(
    spec: CorpusSpec,
    teacher: Any,
    student: Any,
    max_seq_length: int,
    min_tokens: int,
    *,
    texts: Iterable[str] | None = None,
    group: int = 1,
) -> SentencePairs:
    """Every document of ``spec`` (a sentence with ``document_per="sentence"``) in both tokenizers' ids.

    ``texts``: these texts of the corpus instead of its documents (``spec`` then only names it), in groups of
    ``group`` kept or dropped together. Raises :class:`BadInput` when no sentence is kept.
    """
    texts = read_documents(spec) if texts is None else texts
    stats = PairStats()
    teacher_parts: list[tuple[np.ndarray, np.ndarray]] = []
    student_parts: list[tuple[np.ndarray, np.ndarray]] = []
    unk_t, unk_s = teacher.unk_token_id, student.unk_token_id
    same = student is teacher  # one tokenizer (--query-passage, a student cut from the teacher): encode once
    with progress.task("tokenizing (teacher and student)", None) as bar:
        # A multiple of the group, so that no group is cut between two tokenizer calls.
        for batch in _batches(texts, BATCH_SENTENCES * group):
            if len(batch) % group:
                raise ValueError(f"{len(batch)} texts do not make whole groups of {group}")
            kept_t, kept_s = [], []
            encoded_t = _encode(teacher, batch, max_seq_length)
            encoded_s = encoded_t if same else _encode(student, batch, max_seq_length)
            for start in range(0, len(batch) - group + 1, group):
                ids_t, ids_s = encoded_t[start : start + group], encoded_s[start : start + group]
                if any(len(ids) < min_tokens for ids in ids_t):
                    stats.too_short += group
                elif any(_mostly_unknown(ids, unk_t) for ids in ids_t) or any(
                    _mostly_unknown(ids, unk_s) for ids in ids_s
                ):
                    stats.mostly_unknown += group
                else:
                    stats.truncated += sum(
                        max_seq_length in (len(a), len(b)) for a, b in zip(ids_t, ids_s, strict=True)
                    )
                    kept_t.extend(ids_t)
                    kept_s.extend(ids_s)
            stats.sentences += len(batch)
            stats.kept += len(kept_t)
            if kept_t:
                teacher_parts.append(_part(kept_t))
                if not same:
                    student_parts.append(_part(kept_s))
            bar.advance(len(batch))
    if stats.kept == 0:
        raise BadInput(
            f"no sentence of at least {min_tokens} tokens in corpus {spec.source} ({stats.sentences} sentences; "
            f"{stats.too_short} too short, {stats.mostly_unknown} mostly unknown tokens): the corpus is too small"
        )
    teacher_rows = TokenRows(teacher_parts)
    return SentencePairs(teacher_rows, teacher_rows if same else TokenRows(student_parts), stats)
