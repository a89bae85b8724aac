"""SQuAD scoring, computed exactly as the official evaluation scripts compute it.

``score_v1`` follows ``evaluate-v1.1.py``: normalised exact match and token F1, the
maximum over the gold answers, times 100, over every question of the file (a question
without a prediction scores 0). ``score_v2`` follows ``evaluate-v2.0.py``: the same
normalisation, an unanswerable question's only gold answer is "", F1 is 1 when both sides
are empty, HasAns/NoAns breakdowns, and with null odds the best thresholds.

Where the official v2.0 script stops with a KeyError (a question missing from the
predictions) we score the question 0, as v1.1 does, also when it has no answer: an empty
predictions file must not earn the NoAns questions. With no question missing, every figure
is the official script's.
"""

from __future__ import annotations

import collections
import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = frozenset(string.punctuation)


def normalize_answer(text: str) -> str:
    """Lower case, punctuation removed, articles (a, an, the) removed, whitespace collapsed."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def _tokens(text: str) -> list[str]:
    return normalize_answer(text).split() if text else []


def exact_match(prediction: str, gold: str) -> int:
    return int(normalize_answer(prediction) == normalize_answer(gold))


def f1_v1(prediction: str, gold: str) -> float:
    """``evaluate-v1.1.py``'s ``f1_score``: 0 when no token is shared (also when both are empty)."""
    pred, ref = normalize_answer(prediction).split(), normalize_answer(gold).split()
    same = sum((collections.Counter(pred) & collections.Counter(ref)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


def f1_v2(prediction: str, gold: str) -> float:
    """``evaluate-v2.0.py``'s ``compute_f1``: 1 when both are empty, 0 when only one is."""
    pred, ref = _tokens(prediction), _tokens(gold)
    if not pred or not ref:
        return float(pred == ref)
    same = sum((collections.Counter(pred) & collections.Counter(ref)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


@dataclass(frozen=True)
class Gold:
    """What scoring needs of a question: its id and its gold answer texts (empty: unanswerable)."""

    id: str
    answers: tuple[str, ...]


def golds(examples: Iterable[object]) -> list[Gold]:
    """:class:`Gold` rows from :class:`~distilcli.tasks.squad.data.SquadExample` rows."""
    return [Gold(e.id, tuple(e.answer_texts)) for e in examples]  # type: ignore[attr-defined]


def score_v1(questions: list[Gold], predictions: Mapping[str, str]) -> dict[str, float]:
    """``exact_match`` and ``f1`` over every question (a missing prediction scores 0)."""
    exact = f1 = 0.0
    missing = 0
    for q in questions:
        if q.id not in predictions:
            missing += 1
            continue
        prediction = predictions[q.id]
        exact += max(exact_match(prediction, gold) for gold in q.answers)
        f1 += max(f1_v1(prediction, gold) for gold in q.answers)
    total = len(questions)
    return {
        "exact_match": 100.0 * exact / total,
        "f1": 100.0 * f1 / total,
        "total": total,
        "missing_predictions": missing,
    }


def _v2_golds(q: Gold) -> list[str]:
    # Gold answers that normalise to nothing are dropped; an unanswerable question's only gold is "".
    answers = [a for a in q.answers if normalize_answer(a)]
    return answers or [""]


def raw_scores_v2(questions: list[Gold], predictions: Mapping[str, str]) -> tuple[dict[str, float], dict[str, float]]:
    """Per question: exact and F1 before any null threshold (a missing prediction scores 0)."""
    exact, f1 = {}, {}
    for q in questions:
        if q.id not in predictions:
            exact[q.id] = f1[q.id] = 0.0
            continue
        prediction = predictions[q.id]
        answers = _v2_golds(q)
        exact[q.id] = float(max(exact_match(prediction, a) for a in answers))
        f1[q.id] = max(f1_v2(prediction, a) for a in answers)
    return exact, f1


def apply_no_answer_threshold(
    scores: Mapping[str, float], null_odds: Mapping[str, float], has_answer: Mapping[str, bool], threshold: float
) -> dict[str, float]:
    """Where the null odds exceed ``threshold`` the prediction counts as "": 1 if unanswerable, else 0."""
    return {qid: float(not has_answer[qid]) if null_odds[qid] > threshold else s for qid, s in scores.items()}


def _summary(exact: Mapping[str, float], f1: Mapping[str, float], ids: list[str]) -> tuple[float, float, int]:
    total = len(ids)
    return 100.0 * sum(exact[k] for k in ids) / total, 100.0 * sum(f1[k] for k in ids) / total, total


def find_best_threshold(
    predictions: Mapping[str, str],
    scores: Mapping[str, float],
    null_odds: Mapping[str, float],
    has_answer: Mapping[str, bool],
) -> tuple[float, float]:
    """``find_best_thresh``: the null-odds threshold that maximises the score, and that score.

    Start from predicting "" everywhere (every unanswerable question right), then lower the
    bar one question at a time in increasing odds: a question switches to its prediction.
    A question without a prediction is never right (it scores 0 whatever the threshold).
    """
    current = best = float(sum(1 for k in has_answer if not has_answer[k] and k in predictions))
    best_threshold = 0.0
    for qid in sorted(null_odds, key=lambda k: null_odds[k]):
        if qid not in scores or qid not in predictions:
            continue
        if has_answer[qid]:
            diff = scores[qid]
        else:
            diff = -1.0 if predictions.get(qid, "") else 0.0
        current += diff
        if current > best:
            best, best_threshold = current, null_odds[qid]
    return 100.0 * best / len(scores), best_threshold


def score_v2(
    questions: list[Gold],
    predictions: Mapping[str, str],
    null_odds: Mapping[str, float] | None = None,
    na_prob_thresh: float = 1.0,
    search_predictions: Mapping[str, str] | None = None,
) -> dict[str, float]:
    """The official v2.0 report: ``exact``, ``f1``, ``total``, HasAns_*/NoAns_*, and with null odds best_*.

    ``na_prob_thresh`` is the official ``--na-prob-thresh`` (default 1.0): a question whose
    null odds exceed it is scored as answered "". It only applies when ``null_odds`` are given.
    ``search_predictions`` (default ``predictions``) are the answers the best-threshold search
    switches to: a model's best non-null spans, so that the threshold found is not capped by
    the one its predictions already applied.
    """
    # As the official make_qid_to_has_ans: a question "has an answer" when its answer list is not empty.
    has_answer = {q.id: bool(q.answers) for q in questions}
    missing = sum(1 for q in questions if q.id not in predictions)
    exact_raw, f1_raw = raw_scores_v2(questions, predictions)
    ids = [q.id for q in questions]
    odds = {qid: 0.0 for qid in ids}
    if null_odds is not None:
        # In the odds file's own order: the threshold search breaks ties by it, as the official script.
        # (Callers check that every answered question has odds; any other counts as 0.0.)
        known = set(ids)
        odds = {qid: float(value) for qid, value in null_odds.items() if qid in known}
        odds.update({qid: 0.0 for qid in ids if qid not in odds})
    answered = {qid for qid in ids if qid in predictions}
    exact = {
        k: v if k in answered else 0.0
        for k, v in apply_no_answer_threshold(exact_raw, odds, has_answer, na_prob_thresh).items()
    }
    f1 = {
        k: v if k in answered else 0.0
        for k, v in apply_no_answer_threshold(f1_raw, odds, has_answer, na_prob_thresh).items()
    }
    out: dict[str, float] = {}
    out["exact"], out["f1"], out["total"] = _summary(exact, f1, ids)
    for prefix, wanted in (("HasAns", True), ("NoAns", False)):
        subset = [k for k in ids if has_answer[k] is wanted]
        if subset:
            out[f"{prefix}_exact"], out[f"{prefix}_f1"], out[f"{prefix}_total"] = _summary(exact, f1, subset)
    if null_odds is not None:
        searched = predictions if search_predictions is None else search_predictions
        exact_s, f1_s = (exact_raw, f1_raw) if search_predictions is None else raw_scores_v2(questions, searched)
        out["best_exact"], out["best_exact_thresh"] = find_best_threshold(searched, exact_s, odds, has_answer)
        out["best_f1"], out["best_f1_thresh"] = find_best_threshold(searched, f1_s, odds, has_answer)
    out["missing_predictions"] = missing
    return out
