"""A corpus read as it trains (``distill --stream``): chunks made on the fly, shuffled in a buffer, never cached.

For corpora too big to prepare in advance: the first step comes after one buffer of chunks instead of
after the whole corpus, and nothing is written to disk. A local file is read lazily (line by line);
a hub dataset is streamed (``datasets.load_dataset(..., streaming=True)``) where the hub is reachable.
The order is a function of the seed alone, so a resumed run reads the same chunks as an uninterrupted
one (it reads the stream again up to where it stopped). When the corpus ends, the next pass begins.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from distilcli.data.chunk_rules import chunk_texts, special_ids
from distilcli.data.corpus import CorpusSpec, looks_like_hub_id, read_documents, split_sentences
from distilcli.errors import BadInput, first_line

BATCH_DOCS = 1000
#: Chunks held and drawn from at random: the order's randomness for a stream.
SHUFFLE_BUFFER = 10_000


def stream_documents(spec: CorpusSpec) -> Iterator[str]:
    """The corpus's documents, read lazily: a local corpus as ``read_documents``, a hub dataset streamed."""
    if Path(spec.source).expanduser().exists() or not looks_like_hub_id(spec.source):
        yield from read_documents(spec)
        return
    import datasets

    try:
        rows = datasets.load_dataset(spec.source, split="train", streaming=True)
    except Exception as exc:  # noqa: BLE001 - offline, unknown id, needs a config: all mean "cannot stream it"
        raise BadInput(
            f"corpus {spec.source!r} cannot be streamed from the Hugging Face hub ({first_line(exc, limit=160)}): "
            "give a local file or folder, or a dataset id the hub can serve"
        ) from None
    found = False
    for row in rows:
        if spec.text_field not in row:
            raise BadInput(f"hub dataset {spec.source} has no column {spec.text_field!r}: pass --text-field")
        text = (row[spec.text_field] or "").strip()
        if not text:
            continue
        found = True
        yield from (split_sentences(text) if spec.document_per == "sentence" else [text])
    if not found:
        raise BadInput(f"corpus {spec.source} is empty (no non-blank document): give a corpus with some text")


def chunk_stream(
    spec: CorpusSpec, tokenizer: Any, max_seq_length: int, min_tokens: int, seed: int, buffer: int = SHUFFLE_BUFFER
) -> Iterator[list[int]]:
    """Chunks of the corpus (DistilBERT's rules), pass after pass, in an order shuffled through a buffer."""
    ids = special_ids(tokenizer)
    rng = np.random.default_rng(seed)
    held: list[list[int]] = []
    for passes in itertools.count():
        made = 0
        documents = stream_documents(spec)
        while texts := list(itertools.islice(documents, BATCH_DOCS)):
            kept, _ = chunk_texts(texts, tokenizer, max_seq_length, min_tokens, ids)
            made += len(kept)
            for chunk in kept:
                if len(held) < buffer:
                    held.append(chunk)
                    continue
                # The buffer is full: a chunk drawn at random from it goes out, the new one takes its place.
                slot = int(rng.integers(len(held)))
                yield held[slot]
                held[slot] = chunk
        if made == 0 and passes == 0:
            raise BadInput(
                f"no chunk of at least {min_tokens} tokens in corpus {spec.source}: the corpus is too small "
                f"or --max-seq-length {max_seq_length} is too short for it"
            )
        # End of a pass: half the buffer, at random, goes out; the rest mixes with the next pass.
        rng.shuffle(held)
        yield from (held.pop() for _ in range(max(1, len(held) // 2)))
