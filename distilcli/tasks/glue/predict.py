"""GLUE predictions: logits of a classifier over encoded features, turned into labels or scores."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from distilcli.tasks.glue.features import FeatureCollate, Features
from distilcli.training.inference import run_longest_first

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from transformers import PreTrainedModel


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
    collate = FeatureCollate(features, pad_token_id, regression=False)
    out = np.zeros((len(features), int(model.config.num_labels)), dtype=np.float32)

    def take(indices: list[int], output: Any) -> None:
        out[indices] = output.logits.float().cpu().numpy()

    run_longest_first(
        model,
        features.lengths,
        lambda indices: collate(indices, with_labels=False),
        take,
        batch_size=batch_size,
        device=device,
        description=description,
    )
    return out


def logits_to_predictions(logits: np.ndarray, regression: bool, permutation: list[int] | None = None) -> np.ndarray:
    """Label indices (argmax, mapped through ``permutation`` into the task's order) or scores."""
    if regression:
        return logits[:, 0].astype(np.float64)
    indices = logits.argmax(axis=1)
    if permutation is not None:
        indices = np.asarray(permutation)[indices]
    return indices
