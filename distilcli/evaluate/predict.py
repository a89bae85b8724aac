"""Fast batched inference for classification: sorted by length, dynamically padded, no autograd."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from distilcli import progress

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from transformers import PreTrainedModel

    from distilcli.finetune.classifier import Features


def predict_logits(
    model: PreTrainedModel,
    features: Features,
    pad_token_id: int,
    *,
    batch_size: int = 128,
    device: torch.device | str | None = None,
    description: str | None = None,
) -> np.ndarray:
    """Logits ``[N, num_labels]`` (float32) for every example, in file order.

    Examples are run longest first so each batch is padded only to its own longest
    member and the first batch shows at once whether memory suffices; results are put
    back in file order. ``torch.inference_mode`` skips all autograd bookkeeping.
    """
    import torch

    from distilcli.finetune.classifier import FeatureCollate

    collate = FeatureCollate(features, pad_token_id, regression=False)
    device = torch.device(device) if device is not None else next(model.parameters()).device
    order = sorted(range(len(features)), key=lambda i: -len(features.input_ids[i]))
    num_labels = int(model.config.num_labels)
    out = np.zeros((len(features), num_labels), dtype=np.float32)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode(), progress.task(description or "evaluating", len(order), unit="examples") as bar:
            for start in range(0, len(order), batch_size):
                indices = order[start : start + batch_size]
                batch = {k: v.to(device) for k, v in collate(indices, with_labels=False).items()}
                logits = model(**batch).logits
                out[indices] = logits.float().cpu().numpy()
                bar.advance(len(indices))
    finally:
        model.train(was_training)
    return out


def logits_to_predictions(logits: np.ndarray, regression: bool, permutation: list[int] | None = None) -> np.ndarray:
    """Label indices (argmax, mapped through ``permutation`` into the task's order) or scores."""
    if regression:
        return logits[:, 0].astype(np.float64)
    indices = logits.argmax(axis=1)
    if permutation is not None:
        indices = np.asarray(permutation)[indices]
    return indices
