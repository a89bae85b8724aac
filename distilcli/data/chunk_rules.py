"""The chunking rules of DistilBERT's ``binarized_data.py`` + ``lm_seqs_dataset.py``, for one batch of documents.

Each document is encoded as ``[CLS] tokens [SEP]``; a longer one is cut into pieces of
``max_seq_length - 2`` content tokens, each wrapped again; chunks shorter than ``min_tokens`` ids and
chunks that are half or more ``[UNK]`` are dropped. Pure functions: one process or many apply them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from distilcli.errors import BadInput


@dataclass(frozen=True)
class SpecialIds:
    """The ids that chunking needs; ``unk`` is None for tokenizers without an unknown token."""

    cls: int
    sep: int
    unk: int | None


@dataclass
class ChunkStats:
    """What happened to the documents, for the log and for the zero-chunk error."""

    documents: int = 0
    chunks: int = 0
    too_short: int = 0
    mostly_unknown: int = 0
    tokens: int = 0

    def add(self, other: ChunkStats) -> None:
        """Count ``other`` (one batch's stats) into these."""
        for name in ("documents", "chunks", "too_short", "mostly_unknown", "tokens"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def special_ids(tokenizer: Any) -> SpecialIds:
    """The tokenizer's cls/sep/unk ids; BadInput when it has no cls or sep token."""
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    if cls is None or sep is None:
        raise BadInput(f"tokenizer {type(tokenizer).__name__} has no [CLS]/[SEP] tokens: use a BERT-family tokenizer")
    return SpecialIds(int(cls), int(sep), None if tokenizer.unk_token_id is None else int(tokenizer.unk_token_id))


def divide_into_chunks(ids: list[int], max_seq_length: int, cls_id: int, sep_id: int) -> list[list[int]]:
    """Split ``[CLS] content [SEP]`` into chunks of at most ``max_seq_length`` ids, each wrapped again.

    Like the reference ``divide_into_chunks``, but counted on the content, so every full chunk
    holds exactly ``max_seq_length - 2`` content tokens.
    """
    if len(ids) <= max_seq_length:
        return [ids]
    step = max_seq_length - 2
    content = ids[1:-1]
    return [[cls_id, *content[start : start + step], sep_id] for start in range(0, len(content), step)]


def _keep(chunk: list[int], min_tokens: int, unk_id: int | None, stats: ChunkStats) -> bool:
    """The reference's filters: ``remove_empty_sequences`` then ``remove_unknown_sequences``."""
    if len(chunk) < min_tokens:
        stats.too_short += 1
        return False
    # The reference keeps a chunk only when unk / length < 0.5, so exactly half is dropped too.
    if unk_id is not None and 2 * chunk.count(unk_id) >= len(chunk):
        stats.mostly_unknown += 1
        return False
    return True


def chunk_texts(
    texts: list[str], tokenizer: Any, max_seq_length: int, min_tokens: int, ids: SpecialIds
) -> tuple[list[list[int]], ChunkStats]:
    """Tokenize ``texts`` (one batch of documents) into their kept chunks, and what happened to them."""
    stats = ChunkStats()
    encoded = tokenizer(
        texts, add_special_tokens=True, truncation=False, return_attention_mask=False, return_token_type_ids=False
    )["input_ids"]
    kept = []
    for doc in encoded:
        if not doc or doc[0] != ids.cls or doc[-1] != ids.sep:
            raise BadInput(
                f"tokenizer {type(tokenizer).__name__} does not wrap a text as [CLS] ... [SEP]: "
                "use a BERT-family tokenizer"
            )
        for chunk in divide_into_chunks(doc, max_seq_length, ids.cls, ids.sep):
            if _keep(chunk, min_tokens, ids.unk, stats):
                kept.append(chunk)
    stats.documents, stats.chunks, stats.tokens = len(texts), len(kept), sum(len(chunk) for chunk in kept)
    return kept, stats


def flatten(chunks: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Chunks as two flat arrays, token ids (int32) and lengths (int64): cheap to send between processes."""
    lengths = np.fromiter((len(chunk) for chunk in chunks), dtype=np.int64, count=len(chunks))
    values = np.fromiter(itertools.chain.from_iterable(chunks), dtype=np.int32, count=int(lengths.sum()))
    return values, lengths
