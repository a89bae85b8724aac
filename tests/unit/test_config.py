"""Config dataclasses from YAML files with command-line values on top."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from distilcli.config import build_config, config_to_dict
from distilcli.errors import BadInput
from distilcli.models.student import StudentConfig


@dataclass
class Cfg:
    teacher: str
    layers: int | None = None
    out: Path | None = None
    layer_map: str | None = None


def test_file_then_cli(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("teacher: a\nlayers: 3\n")
    assert build_config(Cfg, path, layers=None) == Cfg(teacher="a", layers=3)
    assert build_config(Cfg, path, layers=2) == Cfg(teacher="a", layers=2)
    assert build_config(Cfg, None, teacher="b") == Cfg(teacher="b")


def test_dashed_keys_accepted(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("teacher: a\nlayer-map: 0,2\n")
    assert build_config(Cfg, path).layer_map == "0,2"


@pytest.mark.parametrize(
    ("text", "message"),
    [("- a\n- b\n", "mapping"), ("teacher: a\nbogus: 1\n", "unknown option"), ("a: [", "not readable YAML")],
)
def test_bad_config_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(BadInput, match=message):
        build_config(Cfg, path)


def test_missing_file_and_required(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="does not exist"):
        build_config(Cfg, tmp_path / "none.yaml")
    with pytest.raises(BadInput, match="missing required option.s. --teacher"):
        build_config(Cfg, None)


def test_config_to_dict() -> None:
    assert config_to_dict(Cfg("a", 1, Path("x"))) == {"teacher": "a", "layers": 1, "out": "x", "layer_map": None}


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('overwrite: "no"\n', "overwrite must be true or false"),
        ('layers: "3"\n', "layers must be an integer"),
        ("layers: true\n", "layers must be an integer"),
        ("layer_map: 5\n", "layer-map must be"),
        ("out: 5\n", "out must be a path"),
    ],
)
def test_config_file_values_are_type_checked(tmp_path: Path, text: str, fragment: str) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("teacher: t\n" + text)
    with pytest.raises(BadInput, match=fragment):
        build_config(StudentConfig, config, out=tmp_path / "o")


def test_embeddings_mode_reads_sentences_as_its_measured_recipe() -> None:
    from pathlib import Path

    from distilcli.distill.config import DistillConfig, with_mode_defaults

    assert with_mode_defaults(DistillConfig(teacher="t", out=Path("o"), corpus="c", task="embeddings")).document_per == "sentence"
    assert with_mode_defaults(DistillConfig(teacher="t", out=Path("o"), corpus="c")).document_per == "line"
    assert with_mode_defaults(DistillConfig(teacher="t", out=Path("o"), corpus="c", task="embeddings", document_per="line")).document_per == "line"


def test_a_resumed_run_saved_before_an_option_existed_used_its_default() -> None:
    from distilcli.config import check_unchanged, config_to_dict
    from distilcli.distill.config import DistillConfig

    cfg = DistillConfig(teacher="t", out=Path("run"), corpus="c")
    saved = {k: v for k, v in config_to_dict(cfg).items() if k != "query_passage"}  # an older run's config
    check_unchanged(saved, cfg, frozenset())  # the option's default is what that run used
    with pytest.raises(BadInput, match="--resume with different options \\(query_passage"):
        check_unchanged(saved, DistillConfig(teacher="t", out=Path("run"), corpus="c", query_passage=True), frozenset())
