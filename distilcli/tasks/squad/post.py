"""From start and end logits of every window to one answer per question, as the standard does it.

Hugging Face's ``postprocess_qa_predictions`` (BERT's ``run_squad`` before it): the top
``n_best`` start and end positions of each window are paired; pairs outside the context,
ending before they start or longer than ``max_answer_length`` tokens are discarded; the best
span over all of a question's windows wins. For v2.0 the null score is the smallest
[CLS] start + end score over the windows, the null odds are ``null − best span``, and ""
is predicted when the odds exceed ``null_threshold``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from distilcli.errors import BadInput
from distilcli.tasks.squad.data import SquadExample
from distilcli.tasks.squad.features import QAFeatures

#: Null odds of a question where no span was valid in any window: "" is the only answer left.
NO_SPAN_ODDS = 1e9


@dataclass
class QAPredictions:
    """The official ``{id: answer}`` map, with the n-best lists and (v2.0) the null odds."""

    answers: dict[str, str] = field(default_factory=dict)
    nbest: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    null_odds: dict[str, float] | None = None
    #: v2.0: the best non-null span of every question, whatever the threshold decided.
    best_spans: dict[str, str] = field(default_factory=dict)


def check_post_options(n_best: int, max_answer_length: int) -> None:
    for name, value in (("--n-best", n_best), ("--max-answer-length", max_answer_length)):
        if not isinstance(value, int) or value < 1:
            raise BadInput(f"{name} must be a positive integer, got {value!r}")


def postprocess(
    examples: list[SquadExample],
    features: QAFeatures,
    start_logits: list[np.ndarray],
    end_logits: list[np.ndarray],
    *,
    version_2: bool,
    n_best: int = 20,
    max_answer_length: int = 30,
    null_threshold: float = 0.0,
) -> QAPredictions:
    """Answers for ``examples`` from per-window logits (``start_logits[i]`` covers window i's tokens)."""
    check_post_options(n_best, max_answer_length)
    windows: list[list[int]] = [[] for _ in examples]
    for feature, example_index in enumerate(features.example_index):
        windows[example_index].append(feature)
    out = QAPredictions(null_odds={} if version_2 else None)
    for example_index, example in enumerate(examples):
        candidates: list[
            tuple[float, float, float, int, int]
        ] = []  # score, start logit, end logit, char start, char end
        null: tuple[float, float, float] | None = None
        for feature in windows[example_index]:
            starts, ends = start_logits[feature], end_logits[feature]
            offsets = features.offsets[feature]
            cls = features.cls_index[feature]
            null_score = float(starts[cls] + ends[cls])
            if null is None or null_score < null[0]:
                null = (null_score, float(starts[cls]), float(ends[cls]))
            top_starts = np.argsort(starts)[::-1][:n_best]
            top_ends = np.argsort(ends)[::-1][:n_best]
            for s in top_starts:
                if offsets[s] is None:
                    continue
                for e in top_ends:
                    if offsets[e] is None or e < s or e - s + 1 > max_answer_length:
                        continue
                    candidates.append(
                        (float(starts[s] + ends[e]), float(starts[s]), float(ends[e]), offsets[s][0], offsets[e][1])
                    )
        candidates.sort(key=lambda c: c[0], reverse=True)
        best = [
            {"text": example.context[c[3] : c[4]], "start_logit": c[1], "end_logit": c[2], "score": c[0]}
            for c in candidates[:n_best]
        ]
        entries = list(best)
        if version_2 and null is not None:
            # The n best with the null answer among them; it is always listed, last if it ranks lower.
            null_entry = {"text": "", "start_logit": null[1], "end_logit": null[2], "score": null[0]}
            entries = sorted([*best, null_entry], key=lambda p: p["score"], reverse=True)[:n_best]
            if not any(p is null_entry for p in entries):
                entries.append(null_entry)
        if entries:
            scores = np.array([p["score"] for p in entries])
            probabilities = np.exp(scores - scores.max())
            probabilities /= probabilities.sum()
            for p, probability in zip(entries, probabilities, strict=True):
                p["probability"] = float(probability)
        out.nbest[example.id] = entries
        best_text = best[0]["text"] if best else ""
        if version_2:
            assert out.null_odds is not None
            odds = null[0] - best[0]["score"] if best and null is not None else NO_SPAN_ODDS
            out.null_odds[example.id] = float(odds)
            out.best_spans[example.id] = best_text
            out.answers[example.id] = "" if odds > null_threshold else best_text
        else:
            out.answers[example.id] = best_text
    return out
