"""Question-answering models (a start/end span head) on every architecture of the model layer.

``AutoModelForQuestionAnswering`` supplies the head (one linear layer giving a start and an
end logit per token). This module tells a trained head from a fresh one, refuses a model
fine-tuned on another task, and runs batched inference over SQuAD windows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from distilcli.errors import BadInput
from distilcli.models.adapters import adapter_for
from distilcli.models.loading import check_positions, load_config, quiet_transformers
from distilcli.models.resolve import ModelRef
from distilcli.tasks.heads import LoadedClassifier, load_with_head, padded_tokenizer, task_of
from distilcli.tasks.squad.data import squad_task
from distilcli.tasks.squad.features import QACollate, QAFeatures
from distilcli.training.inference import run_longest_first

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from transformers import PreTrainedModel


def check_qa_config(ref: ModelRef, config: Any | None = None) -> None:
    """From config.json alone: refuse a model that distilcli fine-tuned on a GLUE task."""
    config = config if config is not None else load_config(ref)
    recorded = task_of(config)
    if recorded is not None and squad_task(recorded) is None:
        raise BadInput(
            f"model {ref.spec} was fine-tuned on {recorded}, not SQuAD: "
            "pass a model fine-tuned with --task squad or squad_v2"
        )


def check_fits(spec: str, config: Any, max_seq_length: int) -> None:
    """``--max-seq-length`` within the model's positions (else :class:`BadInput`, before any weight is read)."""
    check_positions(spec, config, max_seq_length)


def load_qa_model(ref: ModelRef, *, for_training: bool) -> LoadedClassifier:
    """Load ``ref`` with a span head; for evaluation the head must be trained, else :class:`BadInput`."""
    from transformers import AutoModelForQuestionAnswering

    quiet_transformers()
    config = load_config(ref)
    adapter = adapter_for(config)
    if not for_training:
        check_qa_config(ref, config)
    tokenizer = padded_tokenizer(ref)  # checked before any weight is read
    if not getattr(tokenizer, "is_fast", False):
        raise BadInput(f"model {ref.spec}: SQuAD needs a fast tokenizer (tokenizer.json) for character offsets")
    model, missing = load_with_head(
        AutoModelForQuestionAnswering,
        ref,
        what="question-answering",
        for_training=for_training,
        fix=f"distil finetune --model {ref.spec} --task squad",
        num_labels=2,
        ignore_mismatched_sizes=for_training,
    )
    return LoadedClassifier(ref, model, tokenizer, adapter, missing)


def predict_spans(
    model: PreTrainedModel,
    features: QAFeatures,
    pad_token_id: int,
    *,
    batch_size: int = 64,
    device: torch.device | str | None = None,
    description: str | None = None,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Start and end logits of every window (each trimmed to the window's length), in window order.

    Windows run longest first (:func:`~distilcli.training.inference.run_longest_first`).
    """
    collate = QACollate(features, pad_token_id)
    starts: list[np.ndarray] = [np.empty(0, dtype=np.float32)] * len(features)
    ends: list[np.ndarray] = [np.empty(0, dtype=np.float32)] * len(features)

    def take(indices: list[int], output: Any) -> None:
        start, end = output.start_logits.float().cpu().numpy(), output.end_logits.float().cpu().numpy()
        for row, i in enumerate(indices):
            n = len(features.input_ids[i])
            starts[i], ends[i] = start[row, :n].copy(), end[row, :n].copy()

    run_longest_first(
        model,
        features.lengths,
        lambda indices: collate(indices, with_labels=False),
        take,
        batch_size=batch_size,
        device=device,
        description=description,
        unit="windows",
    )
    return starts, ends
