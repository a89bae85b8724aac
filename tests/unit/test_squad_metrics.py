"""SQuAD scoring against hand-worked values of the official v1.1 and v2.0 scripts."""

from __future__ import annotations

import math

import pytest

from distilcli.tasks.squad.metrics import (
    Gold,
    exact_match,
    f1_v1,
    f1_v2,
    find_best_threshold,
    normalize_answer,
    score_v1,
    score_v2,
)


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("Denver Broncos", "denver broncos"),  # lower case
        ("Broncos!", "broncos"),  # punctuation removed
        ("it's 1,000", "its 1000"),  # inside words too
        ("The Broncos", "broncos"),  # article
        ("a dog and an apple", "dog and apple"),  # every article, as a whole word
        ("theatre anathema", "theatre anathema"),  # never inside a word
        ("  Super   Bowl\t50\n", "super bowl 50"),  # whitespace collapsed
    ],
)
def test_normalize_answer_rules(raw: str, normalised: str) -> None:
    assert normalize_answer(raw) == normalised


def test_normalize_answer_removes_punctuation_before_articles() -> None:
    # The official order: lower, punctuation, articles, whitespace. "the.the" -> "thethe" (no article left).
    assert normalize_answer("The.the") == "thethe"
    assert normalize_answer("the-cat") == "thecat"


def test_exact_match_after_normalisation() -> None:
    assert exact_match("the Denver Broncos.", "Denver Broncos") == 1
    assert exact_match("Denver", "Denver Broncos") == 0


def test_f1_hand_worked() -> None:
    # pred: [denver, broncos, team] gold: [broncos]; 1 shared; P = 1/3, R = 1 -> F1 = 0.5
    assert f1_v1("Denver Broncos team", "the Broncos") == pytest.approx(0.5)
    # repeated tokens count with multiplicity: pred [a1 a1] ~ "cat cat", gold "cat": shared 1, P 1/2, R 1 -> 2/3
    assert f1_v1("cat cat", "cat") == pytest.approx(2 / 3)
    assert f1_v1("x", "y") == 0.0


def test_f1_empty_answers_differ_between_versions() -> None:
    # v1.1: no shared token -> 0, even when both are empty. v2.0: both empty -> 1, one empty -> 0.
    assert f1_v1("", "") == 0.0
    assert f1_v2("", "") == 1.0
    assert f1_v2("the", "") == 1.0  # "the" normalises to nothing
    assert f1_v2("cat", "") == 0.0


def test_score_v1_takes_the_best_gold_and_counts_missing_as_zero() -> None:
    questions = [
        Gold("q1", ("Denver Broncos", "Broncos")),
        Gold("q2", ("Santa Clara, California", "Levi's Stadium")),
        Gold("q3", ("gold",)),
    ]
    predictions = {"q1": "Broncos", "q2": "Santa Clara"}  # q3 missing
    result = score_v1(questions, predictions)
    # q1: exact with the 2nd gold -> 1, F1 1. q2: no exact; F1 vs "santa clara california" = 2*(1*2/3)/(1+2/3) = 0.8
    assert result["exact_match"] == pytest.approx(100 * 1 / 3)
    assert result["f1"] == pytest.approx(100 * (1 + 0.8) / 3)
    assert result["total"] == 3
    assert result["missing_predictions"] == 1


def _v2_questions() -> list[Gold]:
    return [Gold("a", ("Paris",)), Gold("b", ("the Seine river", "Seine")), Gold("c", ()), Gold("d", ())]


def test_score_v2_breakdown_without_null_odds() -> None:
    predictions = {"a": "Paris", "b": "river", "c": "", "d": "London"}
    result = score_v2(_v2_questions(), predictions)
    # a: 1/1. b: exact 0; F1 max(vs "seine river": P 1, R 1/2 -> 2/3; vs "seine": 0) = 2/3. c: "" vs "" -> 1/1. d: 0/0.
    assert result["exact"] == pytest.approx(100 * 2 / 4)
    assert result["f1"] == pytest.approx(100 * (1 + 2 / 3 + 1) / 4)
    assert result["HasAns_exact"] == pytest.approx(50.0)
    assert result["HasAns_f1"] == pytest.approx(100 * (1 + 2 / 3) / 2)
    assert result["NoAns_exact"] == result["NoAns_f1"] == pytest.approx(50.0)
    assert result["total"] == 4 and result["HasAns_total"] == 2 and result["NoAns_total"] == 2
    assert "best_f1" not in result  # only with null odds, as the official script


def test_best_threshold_hand_worked() -> None:
    # Sorted by odds: a (-2, has answer, exact 1), b (-1, has answer, exact 0), c (0.5, no answer, predicted ""),
    # d (3, no answer, predicted "London"). Start: 2 (both no-answer questions right if all are "").
    # a: +1 -> 3 (best, thresh -2); b: +0 -> 3; c: +0 -> 3; d: -1 -> 2. Best 3/4 at threshold -2.
    predictions = {"a": "Paris", "b": "river", "c": "", "d": "London"}
    odds = {"a": -2.0, "b": -1.0, "c": 0.5, "d": 3.0}
    exact = {"a": 1.0, "b": 0.0, "c": 1.0, "d": 0.0}
    has = {"a": True, "b": True, "c": False, "d": False}
    assert find_best_threshold(predictions, exact, odds, has) == (75.0, -2.0)
    # F1: a +1 -> 3 (thresh -2); b +2/3 -> 3.667 (thresh -1); c 0; d -1. Best 3.667/4 at -1.
    f1 = {"a": 1.0, "b": 2 / 3, "c": 1.0, "d": 0.0}
    best, thresh = find_best_threshold(predictions, f1, odds, has)
    assert best == pytest.approx(100 * (3 + 2 / 3) / 4) and thresh == -1.0


def test_score_v2_with_null_odds_applies_the_official_threshold() -> None:
    predictions = {"a": "Paris", "b": "river", "c": "", "d": "London"}
    odds = {"a": -2.0, "b": -1.0, "c": 0.5, "d": 3.0}
    result = score_v2(_v2_questions(), predictions, odds)  # na_prob_thresh 1.0: d (3.0 > 1.0) counts as ""
    assert result["exact"] == pytest.approx(75.0)  # a, c, d right
    assert result["f1"] == pytest.approx(100 * (1 + 2 / 3 + 1 + 1) / 4)
    assert result["best_exact"] == 75.0 and result["best_exact_thresh"] == -2.0
    assert result["best_f1_thresh"] == -1.0
    # With an infinite threshold, exact/f1 score the predictions as written.
    assert score_v2(_v2_questions(), predictions, odds, na_prob_thresh=math.inf)["exact"] == pytest.approx(50.0)


def test_score_v2_gold_answers_that_normalise_to_nothing_are_dropped() -> None:
    # A gold answer of only punctuation/articles is dropped; with none left the question scores as no-answer...
    questions = [Gold("x", ("the", "Seine"))]
    assert score_v2(questions, {"x": "Seine"})["exact"] == 100.0
    # ...but it still counts as "has an answer" (the official make_qid_to_has_ans looks at the raw list).
    only_article = score_v2([Gold("y", ("the",))], {"y": ""})
    assert only_article["exact"] == 100.0 and only_article["HasAns_total"] == 1


def test_score_v2_missing_predictions_score_zero_even_without_an_answer() -> None:
    # The official v2.0 script stops with a KeyError here; an empty file must not earn the NoAns questions.
    result = score_v2(_v2_questions(), {"a": "Paris"}, {"a": -1.0})
    assert result["missing_predictions"] == 3
    assert result["exact"] == pytest.approx(25.0)  # only a
    assert result["NoAns_exact"] == 0.0
    assert result["best_exact"] == pytest.approx(25.0)  # no threshold makes a missing answer right
    assert score_v2(_v2_questions(), {})["f1"] == 0.0


def test_best_threshold_ties_follow_the_odds_file_order() -> None:
    # a (has answer, right) and c (no answer, answered "x") share odds 0.0. Official: sorted() is
    # stable, so the file order decides: a first reaches 2/2 before c costs 1; c first never beats 1.
    has, predictions, exact = {"a": True, "c": False}, {"a": "yes", "c": "x"}, {"a": 1.0, "c": 0.0}
    assert find_best_threshold(predictions, exact, {"a": 0.0, "c": 0.0}, has) == (100.0, 0.0)
    assert find_best_threshold(predictions, exact, {"c": 0.0, "a": 0.0}, has) == (50.0, 0.0)
