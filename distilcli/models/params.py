"""Parameter counts by part: embeddings, encoder, MLM head (tied weights counted once)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from distilcli.models.adapters import ArchitectureAdapter

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn


def _unique(modules: list[nn.Module], exclude: set[int] | None = None) -> dict[int, int]:
    seen: dict[int, int] = {}
    for module in modules:
        for param in module.parameters():
            key = id(param)
            if exclude and key in exclude:
                continue
            seen[key] = param.numel()
    return seen


def count_parameters(model: nn.Module, adapter: ArchitectureAdapter) -> dict[str, int]:
    """``total`` is the backbone (embeddings + encoder), the figure papers quote (BERT-base 110M).

    ``mlm_head`` counts only the head's own weights; its decoder matrix is the tied word
    embedding matrix, already counted under embeddings.
    """
    backbone = _unique([model.base_model])  # type: ignore[list-item]
    embeddings = _unique([adapter.embeddings(model)])  # type: ignore[arg-type]
    head = _unique(adapter.mlm_head(model), exclude=set(backbone))  # type: ignore[arg-type]
    total = sum(backbone.values())
    n_embeddings = sum(embeddings.values())
    return {
        "total": total,
        "embeddings": n_embeddings,
        "encoder": total - n_embeddings,
        "mlm_head": sum(head.values()),
    }
