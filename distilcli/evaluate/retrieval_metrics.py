"""Exact nearest-neighbour search and the retrieval metrics (nDCG@k, MRR@k, recall@k), in numpy.

Definitions, as BEIR reports them (pytrec_eval's ``ndcg_cut`` and ``recall``, BEIR's own MRR):

- nDCG@k: DCG@k = sum over ranks i = 1..k of grade(passage at i) / log2(i + 1), the gain being the
  relevance grade itself (linear); divided by the DCG@k of the ideal order of the query's
  relevant passages;
- MRR@k: 1 / the rank of the first relevant passage within the top k, else 0;
- recall@k: the share of the query's relevant passages within the top k.

A passage is relevant when its grade is above 0. Each metric is averaged over the queries.
The ranking is by score, highest first, ties broken by collection order (the passage that comes
first in the collection ranks first); trec_eval breaks ties by document id instead, which only
matters for passages of exactly equal score (duplicates).
"""

from __future__ import annotations

import numpy as np

#: The report's metrics, in the order the tables show them; nDCG@10 is the primary one.
METRICS = ("ndcg@10", "mrr@10", "recall@1", "recall@10", "recall@100")
#: Scores in one block of the search, at most (float32: 64 MiB).
_BLOCK = 16 * 1024 * 1024


def normalized(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (float32), so a dot product is a cosine; a zero row stays zero."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def top_k(queries: np.ndarray, passages: np.ndarray, k: int, exclude: dict[int, int] | None = None) -> np.ndarray:
    """The ``k`` best passages of each query by dot product, best first: [Q, min(k, N)] passage indices.

    Exact: every score is computed, a block of queries at a time, so memory stays bounded for
    any collection. Ties are broken by passage index. ``exclude`` maps a query's row to one
    passage it must not retrieve (BEIR leaves out a passage whose id is the query's); such a
    slot is -1 when the collection has fewer than ``k`` other passages.
    """
    n = passages.shape[0]
    k = min(k, n)
    out = np.empty((queries.shape[0], k), dtype=np.int64)
    skip_rows = np.fromiter((exclude or {}).keys(), dtype=np.int64)
    skip_columns = np.fromiter((exclude or {}).values(), dtype=np.int64)
    rows_per_block = max(1, _BLOCK // max(n, 1))
    for start in range(0, queries.shape[0], rows_per_block):
        scores = queries[start : start + rows_per_block] @ passages.T
        inside = (skip_rows >= start) & (skip_rows < start + scores.shape[0])
        rows, columns = skip_rows[inside] - start, skip_columns[inside]
        scores[rows, columns] = -np.inf
        block = _ranked(scores, k)
        if len(rows):  # an excluded passage ranks last (score -inf); it is no result at all
            kept = block[rows]
            kept[kept == columns[:, None]] = -1
            block[rows] = kept
        out[start : start + scores.shape[0]] = block
    return out


def _ranked(scores: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` highest-scoring columns of each row, highest first, ties by column order."""
    n = scores.shape[1]
    if np.isnan(scores).any():
        raise ValueError("a score is NaN: the embeddings are not finite")
    kth = np.partition(scores, n - k, axis=1)[:, n - k]  # the k-th highest score of each row
    candidates = scores >= kth[:, None]  # at least k a row; more when the k-th score is tied
    rows, columns = np.nonzero(candidates)
    order = np.lexsort((columns, -scores[rows, columns], rows))  # by row, then score down, then column
    counts = candidates.sum(axis=1)
    starts = np.cumsum(counts) - counts
    return columns[order][starts[:, None] + np.arange(k)]


def per_query(ranked: np.ndarray, relevant: list[dict[int, int]]) -> dict[str, np.ndarray]:
    """Each metric of :data:`METRICS` for each query, from its ranking (passage indices, -1 for none).

    ``relevant``: per query, passage index -> grade, only grades above 0.
    """
    q, width = ranked.shape
    gains = np.zeros((q, width), dtype=np.float64)
    for i, (row, grades) in enumerate(zip(ranked.tolist(), relevant, strict=True)):
        gains[i] = [grades.get(p, 0) for p in row]
    found = gains > 0
    discount = 1.0 / np.log2(np.arange(2, width + 2))
    values: dict[str, np.ndarray] = {}
    for name in METRICS:
        kind, cut = name.split("@")
        k = min(int(cut), width)
        if kind == "ndcg":
            ideal = np.array([_ideal_dcg(grades, int(cut)) for grades in relevant])
            values[name] = (gains[:, :k] @ discount[:k]) / ideal
        elif kind == "mrr":
            first = np.where(found[:, :k].any(axis=1), found[:, :k].argmax(axis=1), -1)
            values[name] = np.where(first >= 0, 1.0 / (np.maximum(first, 0) + 1), 0.0)
        else:
            values[name] = found[:, :k].sum(axis=1) / np.array([len(grades) for grades in relevant])
    return values


def _ideal_dcg(grades: dict[int, int], k: int) -> float:
    best = sorted(grades.values(), reverse=True)[:k]
    return float(sum(g / np.log2(i + 2) for i, g in enumerate(best)))


def mean_metrics(values: dict[str, np.ndarray]) -> dict[str, float]:
    """Each metric averaged over the queries."""
    return {name: float(np.mean(v)) for name, v in values.items()}
