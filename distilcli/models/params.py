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


def backbone_parameters(model: nn.Module, adapter: ArchitectureAdapter) -> dict[str, int]:
    """``total`` (embeddings + encoder, tied weights once), ``embeddings`` and ``encoder`` (the rest).

    ``model`` is a masked-LM model or its bare encoder (``AutoModel``): both are found
    through ``base_model``, from which the adapter's embeddings path is taken.
    """
    base = model.base_model  # type: ignore[union-attr]
    embeddings = base.get_submodule(adapter.embeddings_path.split(".", 1)[1])  # paths start at the MLM model
    total = sum(_unique([base]).values())
    n_embeddings = sum(_unique([embeddings]).values())
    return {"total": total, "embeddings": n_embeddings, "encoder": total - n_embeddings}


def count_parameters(model: nn.Module, adapter: ArchitectureAdapter) -> dict[str, int]:
    """The backbone (:func:`backbone_parameters`: ``total`` is the figure papers quote, BERT-base 110M)
    and the masked-LM model's head.

    ``mlm_head`` counts only the head's own weights; its decoder matrix is the tied word
    embedding matrix, already counted under embeddings.
    """
    counts = backbone_parameters(model, adapter)
    backbone = _unique([model.base_model])  # type: ignore[list-item]
    head = _unique(adapter.mlm_head(model), exclude=set(backbone))  # type: ignore[arg-type]
    return {**counts, "mlm_head": sum(head.values())}
