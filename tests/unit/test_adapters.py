"""Architecture adapters find the embeddings, layers and MLM head of every supported type."""

from __future__ import annotations

import pytest
import torch

from distilcli.errors import BadInput
from distilcli.models.adapters import ADAPTERS, adapter_for
from tests.conftest import ARCHITECTURES, HIDDEN, NUM_LAYERS, tiny_config


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_adapter_locates_parts(arch: str) -> None:
    from transformers import AutoModelForMaskedLM

    config = tiny_config(arch)
    model = AutoModelForMaskedLM.from_config(config)
    adapter = adapter_for(config)
    assert adapter.num_layers(config) == NUM_LAYERS
    assert adapter.hidden_size(config) == HIDDEN
    assert adapter.num_heads(config) == 2
    layers = adapter.layers(model)
    assert isinstance(layers, torch.nn.ModuleList) and len(layers) == NUM_LAYERS
    embeddings = adapter.embeddings(model)
    assert embeddings.word_embeddings.num_embeddings == config.vocab_size
    head_params = {id(p) for module in adapter.mlm_head(model) for p in module.parameters()}
    # The head holds the output projection: the tied word-embedding matrix.
    assert id(model.get_output_embeddings().weight) in head_params
    for key in adapter.mlm_head_required_keys:
        assert key in model.state_dict(), key


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_with_num_layers_copies_config(arch: str) -> None:
    config = tiny_config(arch)
    adapter = adapter_for(config)
    smaller = adapter.with_num_layers(config, 2)
    assert adapter.num_layers(smaller) == 2
    assert adapter.num_layers(config) == NUM_LAYERS  # the original is untouched


def test_unknown_architecture_is_bad_input() -> None:
    with pytest.raises(BadInput, match="architecture 'gpt2' is not supported"):
        adapter_for("gpt2")


def test_registry_suggests_close_names() -> None:
    with pytest.raises(BadInput, match="did you mean 'roberta'"):
        ADAPTERS.get("roberto")


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_mlm_logits_on_selected_positions_match_full_model(arch: str) -> None:
    from transformers import AutoModelForMaskedLM

    torch.manual_seed(0)
    config = tiny_config(arch)
    model = AutoModelForMaskedLM.from_config(config).eval()
    adapter = adapter_for(config)
    ids = torch.randint(5, config.vocab_size, (2, 7))
    mask = torch.ones_like(ids)
    mask[1, 4:] = 0
    with torch.no_grad():
        full = model(input_ids=ids, attention_mask=mask).logits
        hidden = model.base_model(input_ids=ids, attention_mask=mask).last_hidden_state
        selected = adapter.mlm_logits(model, hidden[mask.bool()])
    torch.testing.assert_close(selected, full[mask.bool()], rtol=1e-5, atol=1e-5)
