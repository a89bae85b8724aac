"""Scoring a SQuAD model or predictions file with the official metrics."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Protocol

from distilcli.tasks.squad.data import SquadSplit
from distilcli.tasks.squad.features import QAFeatures
from distilcli.tasks.squad.head import predict_spans
from distilcli.tasks.squad.metrics import golds, score_v1, score_v2
from distilcli.tasks.squad.post import QAPredictions, postprocess

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


class SpanOptions(Protocol):
    """The options of scoring a QA model, shared by eval-squad's and fine-tuning's configs."""

    eval_batch_size: int
    n_best: int
    max_answer_length: int
    null_threshold: float


def score(
    dev: SquadSplit,
    answers: dict[str, str],
    null_odds: dict[str, float] | None = None,
    na_prob_thresh: float = 1.0,
    search_answers: dict[str, str] | None = None,
) -> dict[str, float]:
    """The official metrics of ``dev``'s version for an ``{id: answer}`` map."""
    questions = golds(dev.examples)
    if dev.task.version_2:
        return score_v2(questions, answers, null_odds, na_prob_thresh, search_answers)
    return score_v1(questions, answers)


def score_model(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    dev: SquadSplit,
    features: QAFeatures,
    cfg: SpanOptions,
    device: torch.device | str,
) -> tuple[dict[str, float], QAPredictions]:
    """Predict, post-process and score; returns the metrics and the :class:`QAPredictions`.

    The answers already apply ``cfg.null_threshold``, so the official no-answer threshold is
    not applied a second time: v2.0's ``exact``/``f1`` score exactly the answers written out.
    The best-threshold search switches to each question's best span, so ``best_f1_thresh``
    is a value worth passing as ``--null-threshold``.
    """
    starts, ends = predict_spans(
        model,
        features,
        tokenizer.pad_token_id,
        batch_size=cfg.eval_batch_size,
        device=device,
        description=f"dev {dev.task.display_name}",
    )
    predictions = postprocess(
        dev.examples,
        features,
        starts,
        ends,
        version_2=dev.task.version_2,
        n_best=cfg.n_best,
        max_answer_length=cfg.max_answer_length,
        null_threshold=cfg.null_threshold,
    )
    search = predictions.best_spans if dev.task.version_2 else None
    return score(
        dev, predictions.answers, predictions.null_odds, na_prob_thresh=math.inf, search_answers=search
    ), predictions
