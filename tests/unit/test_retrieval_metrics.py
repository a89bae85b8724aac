"""Retrieval metrics against independent computations: by hand on a small collection, scikit-learn, brute force.

Scores are given directly: with the identity as the passages' vectors, a query's vector is its
row of scores (``q @ I``), so each case below reads as a score table.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from distilcli.evaluate import retrieval_metrics
from distilcli.evaluate.retrieval_metrics import METRICS, mean_metrics, normalized, per_query, top_k


def _search(scores: list[list[float]], k: int = 100, exclude: dict[int, int] | None = None) -> np.ndarray:
    scores_array = np.asarray(scores, dtype=np.float32)
    return top_k(scores_array, np.eye(scores_array.shape[1], dtype=np.float32), k, exclude)


def _dcg(gains: list[float]) -> float:
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains))


#: 6 passages, 4 queries. Query 0: one relevant passage, ranked 3rd. Query 1: three relevant passages
#: with grades 2, 1, 1, one tied with an irrelevant passage. Query 2: its relevant passage is last.
#: Query 3: every score tied, its relevant passages at indices 4 and 1.
SCORES = [
    [0.9, 0.8, 0.7, 0.1, 0.2, 0.3],
    [0.5, 0.9, 0.5, 0.2, 0.7, 0.1],
    [0.6, 0.5, 0.4, 0.3, 0.2, 0.1],
    [0.4, 0.4, 0.4, 0.4, 0.4, 0.4],
]
RELEVANT = [{2: 1}, {2: 2, 4: 1, 5: 1}, {5: 1}, {4: 1, 1: 3}]


def test_hand_made_collection() -> None:
    ranked = _search(SCORES)
    # Ties in collection order: query 1 ranks passage 0 before passage 2 (both 0.5), query 3 is 0..5.
    assert ranked.tolist() == [[0, 1, 2, 5, 4, 3], [1, 4, 0, 2, 3, 5], [0, 1, 2, 3, 4, 5], [0, 1, 2, 3, 4, 5]]
    values = per_query(ranked, RELEVANT)
    ndcg = [
        _dcg([0, 0, 1]) / _dcg([1]),
        _dcg([0, 1, 0, 2, 0, 1]) / _dcg([2, 1, 1]),
        _dcg([0, 0, 0, 0, 0, 1]) / _dcg([1]),
        _dcg([0, 3, 0, 0, 1, 0]) / _dcg([3, 1]),
    ]
    assert values["ndcg@10"] == pytest.approx(ndcg)
    assert values["ndcg@10"][0] == pytest.approx(0.5)  # 1 / log2(4)
    assert values["mrr@10"].tolist() == pytest.approx([1 / 3, 1 / 2, 1 / 6, 1 / 2])
    assert values["recall@1"].tolist() == [0, 0, 0, 0]
    assert values["recall@10"].tolist() == [1, 1, 1, 1] == values["recall@100"].tolist()
    means = mean_metrics(values)
    assert list(means) == list(METRICS) and means["mrr@10"] == pytest.approx((1 / 3 + 1 / 2 + 1 / 6 + 1 / 2) / 4)


def test_cut_offs_and_ties_at_the_cut() -> None:
    # 12 passages: the relevant one (index 11) is tied at the 10th place with index 3, which wins the tie.
    row = [0.0] * 12
    for rank, index in enumerate([0, 1, 2, 4, 5, 6, 7, 8, 9]):
        row[index] = 1.0 - rank / 100
    row[3] = row[11] = 0.5
    ranked = _search([row], k=10)
    assert ranked.tolist() == [[0, 1, 2, 4, 5, 6, 7, 8, 9, 3]]  # 11 is 11th: out of the top 10
    values = per_query(_search([row]), [{11: 1}])
    assert values["ndcg@10"][0] == 0 and values["mrr@10"][0] == 0 and values["recall@10"][0] == 0
    assert values["recall@100"][0] == 1
    # Two relevant passages, one in the top 10: recall@10 is a half; the ideal DCG counts both.
    values = per_query(_search([row]), [{11: 1, 9: 2}])
    assert values["recall@10"][0] == 0.5
    assert values["ndcg@10"][0] == pytest.approx((2 / math.log2(10)) / _dcg([2, 1]))
    assert values["mrr@10"][0] == pytest.approx(1 / 9)
    # recall@1: the first place only.
    assert per_query(_search([row]), [{0: 1, 11: 1}])["recall@1"][0] == 0.5


def test_ndcg_equals_scikit_learn_and_the_rest_a_brute_force_ranking(monkeypatch: pytest.MonkeyPatch) -> None:
    from sklearn.metrics import ndcg_score

    rng = np.random.default_rng(0)
    queries, passages = normalized(rng.normal(size=(37, 16))), normalized(rng.normal(size=(150, 16)))
    grades = np.zeros((37, 150), dtype=int)
    for q in range(37):  # 1 to 6 relevant passages a query, graded 1 to 3
        chosen = rng.choice(150, size=rng.integers(1, 7), replace=False)
        grades[q, chosen] = rng.integers(1, 4, size=len(chosen))
    relevant = [{int(p): int(grades[q, p]) for p in np.flatnonzero(grades[q])} for q in range(37)]
    monkeypatch.setattr(retrieval_metrics, "_BLOCK", 150 * 4)  # blocks of 4 queries: the same as one block
    ranked = top_k(queries, passages, 100)
    means = mean_metrics(per_query(ranked, relevant))
    scores = queries @ passages.T
    assert means["ndcg@10"] == pytest.approx(ndcg_score(grades, scores, k=10), abs=1e-12)
    # Brute force: the whole ranking by a stable sort, each metric from its definition.
    full = np.argsort(-scores, axis=1, kind="stable")
    assert (full[:, :100] == ranked).all()
    mrr, recalls = [], {1: [], 10: [], 100: []}
    for q in range(37):
        ranks = [r for r in range(150) if grades[q, full[q, r]] > 0]
        mrr.append(1 / (ranks[0] + 1) if ranks[0] < 10 else 0.0)
        for k, values in recalls.items():
            values.append(sum(r < k for r in ranks) / len(ranks))
    assert means["mrr@10"] == pytest.approx(np.mean(mrr), abs=1e-12)
    for k, values in recalls.items():
        assert means[f"recall@{k}"] == pytest.approx(np.mean(values), abs=1e-12)


def test_fewer_passages_than_the_cut_and_an_excluded_own_id() -> None:
    ranked = _search([[0.1, 0.9, 0.5]])
    assert ranked.shape == (1, 3)
    values = per_query(ranked, [{0: 1}])
    assert values["recall@100"][0] == 1 and values["mrr@10"][0] == pytest.approx(1 / 3)
    # The query's own passage (BEIR's rule) is no result: it leaves the ranking, the others move up.
    ranked = _search([[0.1, 0.9, 0.5]], exclude={0: 1})
    assert ranked.tolist() == [[2, 0, -1]]
    assert per_query(ranked, [{0: 1}])["mrr@10"][0] == pytest.approx(1 / 2)
    assert _search([[0.1, 0.9, 0.5, 0.3]], k=2, exclude={0: 1}).tolist() == [[2, 3]]


def test_normalized_rows_make_a_dot_product_a_cosine() -> None:
    vectors = normalized(np.array([[3.0, 4.0], [0.0, 0.0]]))
    assert vectors.flatten().tolist() == pytest.approx([0.6, 0.8, 0.0, 0.0]) and vectors.dtype == np.float32
