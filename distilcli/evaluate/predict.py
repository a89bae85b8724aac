"""Fast batched inference: sorted by length, dynamically padded, no autograd."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from distilcli import progress

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from transformers import PreTrainedModel

    from distilcli.finetune.classifier import Features


def run_longest_first(
    model: PreTrainedModel,
    lengths: list[int],
    collate: Callable[[list[int]], dict[str, torch.Tensor]],
    take: Callable[[list[int], Any], None],
    *,
    batch_size: int,
    device: torch.device | str | None = None,
    description: str | None = None,
    unit: str = "examples",
) -> None:
    """Run ``model`` over every row, longest first, and hand each batch's output to ``take(indices, output)``.

    Longest first, so each batch is padded only to its own longest member and the first
    batch shows at once whether memory suffices. ``torch.inference_mode`` skips all autograd
    bookkeeping; the model's train/eval mode is restored afterwards.
    """
    import torch

    device = torch.device(device) if device is not None else next(model.parameters()).device
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode(), progress.task(description or "evaluating", len(order), unit=unit) as bar:
            for start in range(0, len(order), batch_size):
                indices = order[start : start + batch_size]
                batch = {k: v.to(device) for k, v in collate(indices).items()}
                take(indices, model(**batch))
                bar.advance(len(indices))
    finally:
        model.train(was_training)


def predict_logits(
    model: PreTrainedModel,
    features: Features,
    pad_token_id: int,
    *,
    batch_size: int = 128,
    device: torch.device | str | None = None,
    description: str | None = None,
) -> np.ndarray:
    """Logits ``[N, num_labels]`` (float32) for every example, in file order (run longest first)."""
    from distilcli.finetune.classifier import FeatureCollate

    collate = FeatureCollate(features, pad_token_id, regression=False)
    out = np.zeros((len(features), int(model.config.num_labels)), dtype=np.float32)

    def take(indices: list[int], output: Any) -> None:
        out[indices] = output.logits.float().cpu().numpy()

    run_longest_first(model, features.lengths, lambda indices: collate(indices, with_labels=False), take,
                      batch_size=batch_size, device=device, description=description)  # fmt: skip
    return out


def logits_to_predictions(logits: np.ndarray, regression: bool, permutation: list[int] | None = None) -> np.ndarray:
    """Label indices (argmax, mapped through ``permutation`` into the task's order) or scores."""
    if regression:
        return logits[:, 0].astype(np.float64)
    indices = logits.argmax(axis=1)
    if permutation is not None:
        indices = np.asarray(permutation)[indices]
    return indices
