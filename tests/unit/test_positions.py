"""A model's usable sequence length comes from its architecture adapter, not from a list of model types."""

from __future__ import annotations

import pytest
from transformers import AutoConfig

from distilcli.models.adapters import ADAPTERS
from distilcli.models.loading import usable_positions


@pytest.mark.parametrize(
    ("model_type", "expected"),
    [("bert", 66), ("distilbert", 66), ("electra", 66), ("roberta", 64), ("mpnet", 64)],
)
def test_usable_positions_per_architecture(model_type: str, expected: int) -> None:
    config = AutoConfig.for_model(model_type, max_position_embeddings=66, pad_token_id=1)
    assert usable_positions(config) == expected


def test_only_roberta_and_mpnet_count_positions_after_padding() -> None:
    assert {name for name, adapter in ADAPTERS.items() if adapter.positions_after_padding} == {"roberta", "mpnet"}


def test_an_architecture_without_adapter_keeps_every_position() -> None:
    config = AutoConfig.for_model("gpt2", n_positions=40)
    config.max_position_embeddings = 40
    assert usable_positions(config) == 40
