"""GLUE metrics pinned to values worked out by hand, and the paper's summary arithmetic."""

from __future__ import annotations

import math

import pytest

from distilcli.errors import BadInput
from distilcli.tasks.glue.metrics import compute_glue_metrics, macro_score, retention, task_score

# One binary prediction set used for CoLA, MRPC and QQP. Against the references:
#   TP = 2 (rows 0, 4), FP = 1 (row 1), TN = 2 (rows 2, 3), FN = 1 (row 5)
PREDS = [1, 1, 0, 0, 1, 0]
REFS = [1, 0, 0, 0, 1, 1]
TP, FP, TN, FN = 2, 1, 2, 1


def test_cola_matthews_by_the_formula() -> None:
    mcc = (TP * TN - FP * FN) / math.sqrt((TP + FP) * (TP + FN) * (TN + FP) * (TN + FN))
    assert mcc == pytest.approx(1 / 3)
    assert compute_glue_metrics("cola", PREDS, REFS) == {"matthews_correlation": pytest.approx(mcc)}


def test_cola_matthews_extremes() -> None:
    assert compute_glue_metrics("cola", [1, 0, 1, 0], [1, 0, 1, 0])["matthews_correlation"] == pytest.approx(1.0)
    assert compute_glue_metrics("cola", [0, 1, 0, 1], [1, 0, 1, 0])["matthews_correlation"] == pytest.approx(-1.0)
    # sklearn's convention for a constant prediction (denominator 0) is 0, as HF evaluate reports.
    assert compute_glue_metrics("cola", [1, 1, 1, 1], [1, 0, 1, 0])["matthews_correlation"] == 0.0


@pytest.mark.parametrize("task", ["mrpc", "qqp"])
def test_accuracy_and_f1_by_hand(task: str) -> None:
    precision = TP / (TP + FP)  # 2/3
    recall = TP / (TP + FN)  # 2/3
    f1 = 2 * precision * recall / (precision + recall)
    metrics = compute_glue_metrics(task, PREDS, REFS)
    assert set(metrics) == {"accuracy", "f1"}
    assert metrics["accuracy"] == pytest.approx((TP + TN) / 6)
    assert metrics["f1"] == pytest.approx(f1) and f1 == pytest.approx(2 / 3)


def test_f1_positive_class_is_label_index_1() -> None:
    # Class 1: TP = 2, FP = 1, FN = 0 -> P = 2/3, R = 1, F1 = 0.8. Were class 0 positive, TP = 0 -> F1 = 0.
    assert compute_glue_metrics("mrpc", [1, 1, 1], [1, 1, 0])["f1"] == pytest.approx(0.8)


@pytest.mark.parametrize("task", ["sst2", "qnli", "rte", "wnli", "mnli", "mnli-mm"])
def test_accuracy_only_tasks(task: str) -> None:
    assert compute_glue_metrics(task, PREDS, REFS) == {"accuracy": pytest.approx(4 / 6)}


def test_mnli_three_classes() -> None:
    assert compute_glue_metrics("MNLI-m", [0, 1, 2, 2, 1], [0, 1, 2, 1, 0]) == {"accuracy": pytest.approx(3 / 5)}


def test_stsb_pearson_and_spearman_by_hand() -> None:
    x = [1.0, 2.0, 3.0, 4.0]
    y = [2.0, 5.0, 4.0, 9.0]
    # Pearson: deviations dx = (-1.5, -0.5, 0.5, 1.5), dy = (-3, 0, -1, 4)
    # sum dx*dy = 4.5 + 0 - 0.5 + 6 = 10; sum dx^2 = 5; sum dy^2 = 26 -> r = 10 / sqrt(130)
    # Spearman: ranks(x) = 1 2 3 4, ranks(y) = 1 3 2 4, d = 0 -1 1 0 -> 1 - 6*2 / (4*(16-1)) = 0.8
    metrics = compute_glue_metrics("sts-b", x, y)
    assert set(metrics) == {"pearson", "spearmanr"}
    assert metrics["pearson"] == pytest.approx(10 / math.sqrt(130))
    assert metrics["spearmanr"] == pytest.approx(0.8)


def test_stsb_spearman_with_ties_uses_average_ranks() -> None:
    # ranks(y) with a tie: (1, 2.5, 2.5, 4); x is 1..4. Pearson of the ranks:
    # dx = (-1.5, -.5, .5, 1.5), dr = (-1.5, 0, 0, 1.5) -> 4.5 / sqrt(5 * 4.5)
    metrics = compute_glue_metrics("stsb", [1.0, 2.0, 3.0, 4.0], [0.0, 3.0, 3.0, 5.0])
    assert metrics["spearmanr"] == pytest.approx(4.5 / math.sqrt(5 * 4.5))


def test_bad_inputs_raise_value_error() -> None:
    with pytest.raises(ValueError, match="no predictions"):
        compute_glue_metrics("sst2", [], [])
    with pytest.raises(ValueError, match="3 predictions for 2 references"):
        compute_glue_metrics("sst2", [1, 0, 1], [1, 0])
    with pytest.raises(ValueError, match="not logits"):
        compute_glue_metrics("sst2", [[0.1, 0.9]], [1])


def test_unknown_task_is_bad_input() -> None:
    with pytest.raises(BadInput, match="did you mean 'sst2'"):
        compute_glue_metrics("sst3", [1], [1])


def test_task_score_is_the_mean_of_sub_metrics() -> None:
    assert task_score({"accuracy": 0.8, "f1": 0.9}) == pytest.approx(0.85)
    assert task_score({"pearson": 0.88, "spearmanr": 0.86}) == pytest.approx(0.87)
    assert task_score({"matthews_correlation": 0.513}) == pytest.approx(0.513)
    # With a task, only its metrics count, and all must be there.
    assert task_score({"accuracy": 0.8, "f1": 0.9, "loss": 7.0}, "mrpc") == pytest.approx(0.85)
    with pytest.raises(ValueError, match="lack f1"):
        task_score({"accuracy": 0.8}, "qqp")
    with pytest.raises(ValueError):
        task_score({})


# The DistilBERT paper, Table 1 (GLUE dev): the "Score" column is the plain mean of the nine tasks.
DISTILBERT = {
    "cola": 51.3, "mnli": 82.2, "mrpc": 87.5, "qnli": 89.2, "qqp": 88.5,
    "rte": 59.9, "sst2": 91.3, "stsb": 86.9, "wnli": 56.3,
}  # fmt: skip
ELMO = {
    "CoLA": 44.1, "MNLI": 68.6, "MRPC": 76.6, "QNLI": 71.1, "QQP": 86.2,
    "RTE": 53.4, "SST-2": 91.5, "STS-B": 70.4, "WNLI": 56.3,
}  # fmt: skip


def test_macro_score_reproduces_the_paper() -> None:
    # 693.1 / 9 = 77.01 (paper: 77.0); 618.2 / 9 = 68.69 (paper: 68.7)
    assert macro_score(DISTILBERT) == pytest.approx(693.1 / 9)
    assert round(macro_score(DISTILBERT), 1) == 77.0
    assert round(macro_score(ELMO), 1) == 68.7


def test_macro_score_counts_mnli_matched_only() -> None:
    with_mm = {**DISTILBERT, "mnli-mm": 10.0}
    assert macro_score(with_mm) == pytest.approx(693.1 / 9)
    # A lone mismatched score stands in for MNLI.
    only_mm = {**{k: v for k, v in DISTILBERT.items() if k != "mnli"}, "mnli_mismatched": 82.2}
    assert macro_score(only_mm) == pytest.approx(693.1 / 9)
    assert macro_score({"sst2": 0.9, "cola": 0.5}) == pytest.approx(0.7)


def test_macro_score_rejects_duplicates_and_empty() -> None:
    with pytest.raises(ValueError, match="given twice"):
        macro_score({"sst2": 0.9, "SST-2": 0.8})
    with pytest.raises(ValueError):
        macro_score({})
    with pytest.raises(BadInput):
        macro_score({"squad": 0.9})


def test_retention() -> None:
    assert retention(77.0, 79.5) == pytest.approx(0.9686, abs=1e-4)
    assert retention(0.5, 0.5) == 1.0
    with pytest.raises(ValueError):
        retention(0.5, 0.0)
