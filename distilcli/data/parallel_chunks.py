"""Tokenising a corpus on every core: worker processes chunk batches of documents, results kept in order.

The fast tokenizer parallelises inside one call, but cutting documents into chunks and filtering them
is Python, so one process keeps about one core busy. Here this process reads documents (cheap) and
hands batches of them to ``num_proc`` workers; at most two batches per worker are in flight, so memory
does not grow with the corpus, and results are taken back in submission order, so the chunks are
exactly those of a one-process run.
"""

from __future__ import annotations

import dataclasses
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from distilcli.data.corpus import CorpusSpec, read_documents, split_sentences

if TYPE_CHECKING:
    from distilcli.data.chunk_rules import ChunkStats, SpecialIds

#: Below this many bytes of local text, starting workers (a fresh interpreter each) costs more than it saves.
MIN_BYTES_FOR_WORKERS = 16 * 2**20
_BATCH_LINES = 1000

_worker: dict[str, Any] = {}


def worth_workers(spec: CorpusSpec) -> bool:
    """Whether ``spec`` is big enough for workers: local files over the threshold, or any dataset."""
    path = Path(spec.source).expanduser()
    if path.is_file():
        return path.stat().st_size >= MIN_BYTES_FOR_WORKERS
    if path.is_dir():
        total = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        return total >= MIN_BYTES_FOR_WORKERS
    return True  # a hub dataset: its size is unknown until read


def _init(tokenizer: Any, max_seq_length: int, min_tokens: int, ids: SpecialIds, split: bool) -> None:
    # Each worker is one core's worth already; the tokenizer's own thread pool would oversubscribe.
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    _worker.update(tokenizer=tokenizer, max_seq_length=max_seq_length, min_tokens=min_tokens, ids=ids, split=split)


def _chunk(texts: list[str]) -> tuple[tuple[np.ndarray, np.ndarray], ChunkStats]:
    from distilcli.data.chunk_rules import chunk_texts, flatten

    if _worker["split"]:
        texts = [sentence for text in texts for sentence in split_sentences(text)]
    kept, stats = chunk_texts(
        texts, _worker["tokenizer"], _worker["max_seq_length"], _worker["min_tokens"], _worker["ids"]
    )
    # Two flat arrays pickle in a copy each; a list of lists of ints costs the reader a Python object per token.
    return flatten(kept), stats


def chunk_in_workers(
    spec: CorpusSpec, tokenizer: Any, max_seq_length: int, min_tokens: int, ids: SpecialIds, num_proc: int
) -> Iterator[tuple[tuple[np.ndarray, np.ndarray], ChunkStats]]:
    """((token ids, lengths) of the kept chunks, stats) per batch of documents, in corpus order, computed by
    ``num_proc`` workers."""
    split = spec.document_per == "sentence"
    # Sentences are split in the workers (it is Python work too): this process reads whole lines.
    reading = dataclasses.replace(spec, document_per="line") if split else spec
    context = get_context("spawn")  # fork would copy a process that may hold threads (torch, tokenizers)
    initargs = (tokenizer, max_seq_length, min_tokens, ids, split)
    with ProcessPoolExecutor(num_proc, mp_context=context, initializer=_init, initargs=initargs) as pool:
        pending: deque[Future] = deque()
        batch: list[str] = []
        for document in read_documents(reading):
            batch.append(document)
            if len(batch) == _BATCH_LINES:
                pending.append(pool.submit(_chunk, batch))
                batch = []
                if len(pending) >= 2 * num_proc:
                    yield pending.popleft().result()
        if batch:
            pending.append(pool.submit(_chunk, batch))
        while pending:
            yield pending.popleft().result()
