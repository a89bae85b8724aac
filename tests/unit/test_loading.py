"""Loading: MLM-head detection and clear errors for bad folders."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from distilcli.errors import BadInput
from distilcli.models.inspect import InspectConfig, run_inspect
from distilcli.models.loading import load_mlm_model
from tests.conftest import ARCHITECTURES, HIDDEN, NUM_LAYERS


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_head_detected_when_saved(arch: str, tiny_models: dict[str, Path]) -> None:
    assert load_mlm_model(str(tiny_models[arch])).has_trained_mlm_head is True


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_head_absent_for_plain_encoder(arch: str, tiny_encoders: dict[str, Path]) -> None:
    loaded = load_mlm_model(str(tiny_encoders[arch]))
    assert loaded.has_trained_mlm_head is False
    assert loaded.model.training is False


def test_corrupt_weights_are_bad_input(tiny_models: dict[str, Path], tmp_path: Path) -> None:
    folder = tmp_path / "broken"
    shutil.copytree(tiny_models["bert"], folder)
    (folder / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(BadInput, match="cannot load the weights"):
        load_mlm_model(str(folder))


def test_weights_of_another_shape_are_bad_input(tiny_models: dict[str, Path], tmp_path: Path) -> None:
    import json

    folder = tmp_path / "mismatch"
    shutil.copytree(tiny_models["bert"], folder)
    config = json.loads((folder / "config.json").read_text())
    config["hidden_size"] = 64
    config["intermediate_size"] = 128
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(BadInput):
        load_mlm_model(str(folder))


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_inspect_counts(arch: str, tiny_models: dict[str, Path]) -> None:
    report = run_inspect(InspectConfig(model=str(tiny_models[arch])))
    body = report.body
    assert body["model_type"] == arch
    assert body["num_layers"] == NUM_LAYERS and body["hidden_size"] == HIDDEN
    params = body["parameters"]
    assert params["total"] == params["embeddings"] + params["encoder"]
    loaded = load_mlm_model(str(tiny_models[arch]))
    # Independent count: every unique parameter of the backbone.
    assert params["total"] == sum(p.numel() for p in loaded.model.base_model.parameters())
    # All unique parameters = backbone + the head's own weights (tied decoder counted once).
    assert params["total"] + params["mlm_head"] == sum(p.numel() for p in loaded.model.parameters())
    assert report.metrics["parameters_total"] == params["total"]


def test_weights_with_more_layers_than_config(tiny_models: dict[str, Path], tmp_path: Path) -> None:
    folder = tmp_path / "truncated"
    shutil.copytree(tiny_models["bert"], folder)
    config = json.loads((folder / "config.json").read_text())
    config["num_hidden_layers"] = 2
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(BadInput, match="does not describe"):
        load_mlm_model(str(folder))
