"""GLUE examples as token ids, and the collate that pads them into batches."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from distilcli.tasks.glue.spec import GlueExample
from distilcli.training.inference import pad_inputs

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from transformers import PreTrainedTokenizerBase

    from distilcli.models.adapters import ArchitectureAdapter


@dataclass
class Features:
    """Token ids of a split, unpadded, in file order; ``labels`` are indices or float scores."""

    input_ids: list[list[int]]
    token_type_ids: list[list[int]] | None
    labels: list[int | float]

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def lengths(self) -> list[int]:
        return [len(ids) for ids in self.input_ids]


def encode(
    examples: list[GlueExample], tokenizer: PreTrainedTokenizerBase, adapter: ArchitectureAdapter, max_seq_length: int
) -> Features:
    """Tokenise single sentences or pairs (longest-first truncation), without padding.

    ``token_type_ids`` are kept only for architectures with segment embeddings: a
    DistilBERT-, RoBERTa- or MPNet-architecture model never receives them.
    """
    text_a = [example.text_a for example in examples]
    pairs = examples and examples[0].text_b is not None
    text_b = [example.text_b or "" for example in examples] if pairs else None
    encoded = tokenizer(
        text_a,
        text_b,
        truncation=True,
        max_length=max_seq_length,
        padding=False,
        return_token_type_ids=adapter.uses_token_type_ids,
        return_attention_mask=False,
    )
    token_types = encoded["token_type_ids"] if adapter.uses_token_type_ids else None
    labels = [example.label if example.label is not None else -1 for example in examples]
    return Features(list(encoded["input_ids"]), None if token_types is None else list(token_types), labels)


class FeatureCollate:
    """Right-pad a batch of feature rows; adds ``labels`` (long, or float for regression)."""

    def __init__(self, features: Features, pad_token_id: int, regression: bool) -> None:
        self.features = features
        self.pad_token_id = int(pad_token_id)
        self.regression = regression

    def __call__(self, indices: list[int], with_labels: bool = True) -> dict[str, torch.Tensor]:
        import torch

        batch = pad_inputs(self.features.input_ids, self.features.token_type_ids, indices, self.pad_token_id)
        if with_labels:
            values = [self.features.labels[i] for i in indices]
            batch["labels"] = torch.tensor(values, dtype=torch.float if self.regression else torch.long)
        return batch
