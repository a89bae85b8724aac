"""GLUE metrics and the DistilBERT paper's summary numbers (task score, macro score, retention).

Metrics come from scikit-learn and scipy, under the key names of HF ``evaluate``'s glue
metric, so numbers here match what the rest of the ecosystem reports. Values are
fractions (0.913), not percentages (91.3); the summaries keep whatever unit they get.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from distilcli.tasks.glue.spec import GlueTask, resolve_task


def _accuracy(predictions: np.ndarray, references: np.ndarray) -> float:
    from sklearn.metrics import accuracy_score

    return float(accuracy_score(references, predictions))


def _f1(predictions: np.ndarray, references: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    # Binary F1 of label index 1 ("1" = equivalent / duplicate), as GLUE and HF evaluate report it.
    return float(f1_score(references, predictions, pos_label=1, average="binary"))


def _matthews(predictions: np.ndarray, references: np.ndarray) -> float:
    from sklearn.metrics import matthews_corrcoef

    return float(matthews_corrcoef(references, predictions))


def _pearson(predictions: np.ndarray, references: np.ndarray) -> float:
    from scipy.stats import pearsonr

    # NaN (with scipy's warning) when either side is constant: the correlation is undefined.
    return float(pearsonr(predictions, references)[0])


def _spearman(predictions: np.ndarray, references: np.ndarray) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(predictions, references)[0])


_METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "accuracy": _accuracy,
    "f1": _f1,
    "matthews_correlation": _matthews,
    "pearson": _pearson,
    "spearmanr": _spearman,
}


def compute_glue_metrics(
    task: str | GlueTask, predictions: Sequence[float] | np.ndarray, references: Sequence[float] | np.ndarray
) -> dict[str, float]:
    """The task's GLUE metrics for predicted label indices (scores for STS-B) against references.

    Keys as HF ``evaluate``: ``matthews_correlation`` (CoLA), ``accuracy`` and ``f1`` (MRPC,
    QQP), ``pearson`` and ``spearmanr`` (STS-B), ``accuracy`` (the rest). Raises ValueError
    for empty or mismatched inputs, or for logits (take the argmax first).
    """
    task = resolve_task(task)
    preds = np.asarray(predictions)
    refs = np.asarray(references)
    if preds.ndim != 1 or refs.ndim != 1:
        raise ValueError(
            f"predictions and references must be 1-D (got shapes {preds.shape} and {refs.shape}); "
            "pass label indices, not logits"
        )
    if len(preds) != len(refs):
        raise ValueError(f"{len(preds)} predictions for {len(refs)} references")
    if len(preds) == 0:
        raise ValueError(f"no predictions to score for {task.display_name}")
    if task.is_regression:
        preds, refs = preds.astype(float), refs.astype(float)
    return {name: _METRICS[name](preds, refs) for name in task.metrics}


def task_score(metrics: Mapping[str, float], task: str | GlueTask | None = None) -> float:
    """One number per task: the mean of its sub-metrics, as the GLUE leaderboard and the DistilBERT paper do.

    MRPC/QQP = mean of accuracy and F1, STS-B = mean of Pearson and Spearman; single-metric
    tasks return that metric. With ``task`` only that task's metric keys are averaged (and
    must all be present); without it, every value in ``metrics`` is.
    """
    if task is not None:
        names = resolve_task(task).metrics
        missing = [name for name in names if name not in metrics]
        if missing:
            raise ValueError(f"metrics lack {', '.join(missing)} for {resolve_task(task).display_name}")
        values = [metrics[name] for name in names]
    else:
        values = list(metrics.values())
    if not values:
        raise ValueError("no metrics to average")
    return math.fsum(values) / len(values)


def macro_score(task_scores: Mapping[str, float]) -> float:
    """The DistilBERT paper's GLUE "Score": the plain mean of the per-task scores given.

    The paper's Table 1 has one MNLI column (the matched accuracy) among its nine tasks,
    so when both ``mnli`` and ``mnli-mm`` are given only the matched score counts; a lone
    ``mnli-mm`` stands in for MNLI. Task names may use any spelling :func:`resolve_task`
    accepts; the same task twice is a ValueError.
    """
    scores: dict[str, float] = {}
    for name, score in task_scores.items():
        key = resolve_task(name).name
        if key in scores:
            raise ValueError(f"task {key!r} given twice (as {name!r})")
        scores[key] = score
    if "mnli" in scores:
        scores.pop("mnli-mm", None)
    if not scores:
        raise ValueError("no task scores to average")
    return math.fsum(scores.values()) / len(scores)


def retention(student: float, teacher: float) -> float:
    """The share of the teacher's score the student keeps (DistilBERT: 77.0 / 79.5 = 97%)."""
    if teacher == 0:
        raise ValueError("teacher score is 0: retention is undefined")
    return student / teacher


def score_predictions(task: GlueTask, predictions: np.ndarray, references: list[Any]) -> dict[str, float]:
    """The task's metrics plus ``score`` (their mean).

    A correlation is undefined when all predictions are equal (an untrained regressor);
    it counts as 0, the value scikit-learn's Matthews correlation gives in the same case.
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy's ConstantInputWarning, sklearn's zero-division warning
        metrics = compute_glue_metrics(task, predictions, np.asarray(references))
    metrics = {name: (value if math.isfinite(value) else 0.0) for name, value in metrics.items()}
    metrics["score"] = task_score(metrics, task)
    return metrics
