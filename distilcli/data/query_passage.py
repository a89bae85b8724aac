"""Query–passage pairs made from plain text, for sentence-embedding students that will run search.

Search compares a short query with a long passage, and a student distilled on sentences alone never
sees that shape. The inverse cloze task (Lee et al. 2019, "Latent Retrieval for Weakly Supervised Open
Domain Question Answering") makes the shape from any text: one sentence of a paragraph is a
pseudo-query, and the paragraph without it is its passage. Here no label is learned from the pair:
the teacher's similarities between the batch's queries and passages are the targets (``--alpha-sim``),
so the pair only decides which texts meet in one batch.

Each document (a line, or a file with ``document_per="file"``) of at least two sentences gives one pair;
the query is a sentence drawn from it with a generator seeded by ``seed``, so the pairs are the same
for a seed and differ between seeds.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from distilcli.data.corpus import CorpusSpec, read_documents, split_sentences

#: Texts per pair, in this order: the query, then its passage (rows ``2k`` and ``2k + 1``).
PAIR = 2


def query_passage_texts(spec: CorpusSpec, seed: int) -> Iterator[str]:
    """Yield query, passage, query, passage ... for every document of ``spec`` with at least two sentences.

    The query is one of the document's sentences (drawn uniformly), the passage the other sentences in
    their order. Documents of one sentence (WikiText's headings, for one) give no pair.
    """
    rng = np.random.default_rng(seed)
    for document in read_documents(spec):
        sentences = split_sentences(document)
        if len(sentences) < PAIR:
            continue
        picked = int(rng.integers(len(sentences)))
        yield sentences[picked]
        yield " ".join(sentence for k, sentence in enumerate(sentences) if k != picked)
