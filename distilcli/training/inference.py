"""Fast batched inference: sorted by length, dynamically padded, no autograd."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from distilcli import progress

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from transformers import PreTrainedModel


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


def pad_inputs(
    input_ids: list[list[int]], token_type_ids: list[list[int]] | None, indices: list[int], pad_token_id: int
) -> dict[str, torch.Tensor]:
    """``input_ids``, ``attention_mask`` (and ``token_type_ids`` when given) of rows ``indices``, right-padded."""
    import torch

    rows = [input_ids[i] for i in indices]
    width = max(len(row) for row in rows)
    ids = torch.full((len(rows), width), int(pad_token_id), dtype=torch.long)
    attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
    for r, row in enumerate(rows):
        ids[r, : len(row)] = torch.tensor(row, dtype=torch.long)
        attention_mask[r, : len(row)] = 1
    batch = {"input_ids": ids, "attention_mask": attention_mask}
    if token_type_ids is not None:
        types = torch.zeros((len(rows), width), dtype=torch.long)
        for r, i in enumerate(indices):
            types[r, : len(token_type_ids[i])] = torch.tensor(token_type_ids[i], dtype=torch.long)
        batch["token_type_ids"] = types
    return batch
