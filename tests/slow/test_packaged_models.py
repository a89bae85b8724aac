"""The packaged real weights: minilm-l6 (BERT) and mpnet-base (MPNet), installed by `make test`.

Marked slow: they read real checkpoints (mpnet-base is joined and unzipped once into the cache).
Skipped, with the pip command, when the packages are not installed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from distilcli.models.aliases import ALIASES
from distilcli.models.inspect import InspectConfig, run_inspect
from distilcli.models.loading import load_mlm_model
from distilcli.models.student import StudentConfig, run_student

pytestmark = pytest.mark.slow


def need(alias: str) -> None:
    if not ALIASES.get(alias).is_installed():
        pytest.skip(f"{alias} not installed: {ALIASES.get(alias).install_command()}")


def test_inspect_minilm() -> None:
    need("minilm-l6")
    body = run_inspect(InspectConfig("minilm-l6")).body
    assert (body["model_type"], body["num_layers"], body["hidden_size"]) == ("bert", 6, 384)
    assert (body["num_attention_heads"], body["vocab_size"]) == (12, 30522)
    assert body["parameters"]["total"] == 22_565_376  # all-MiniLM-L6-v2 without its pooler
    assert body["has_trained_mlm_head"] is False


def test_inspect_mpnet() -> None:
    need("mpnet-base")
    body = run_inspect(InspectConfig("mpnet-base")).body
    assert (body["model_type"], body["num_layers"], body["hidden_size"]) == ("mpnet", 12, 768)
    assert body["vocab_size"] == 30527
    assert 108e6 < body["parameters"]["total"] < 111e6
    assert body["has_trained_mlm_head"] is False


def test_minilm_student_layer_map(tmp_path: Path) -> None:
    need("minilm-l6")
    from transformers import AutoModel, AutoTokenizer

    out = tmp_path / "s3"
    report = run_student(StudentConfig(teacher="minilm-l6", out=out, layer_map="0,2,4"))
    assert report.body["layer_map"] == [0, 2, 4]
    student = AutoModel.from_pretrained(out)
    teacher = load_mlm_model("minilm-l6")
    for i, t in enumerate([0, 2, 4]):
        s_layer = student.encoder.layer[i].state_dict()
        t_layer = teacher.adapter.layers(teacher.model)[t].state_dict()
        assert all(torch.equal(s_layer[k], t_layer[k]) for k in s_layer)
    tokenizer = AutoTokenizer.from_pretrained(out)
    assert tokenizer("distillation")["input_ids"][0] == tokenizer.cls_token_id


def test_mpnet_student_is_about_40_percent_smaller(tmp_path: Path) -> None:
    need("mpnet-base")
    from transformers import AutoModel

    out = tmp_path / "s6"
    report = run_student(StudentConfig(teacher="mpnet-base", out=out, layers=6))
    assert report.body["layer_map"] == [0, 2, 4, 6, 8, 10]
    assert 0.38 < report.metrics["parameter_reduction"] < 0.41
    model = AutoModel.from_pretrained(out)
    assert model.config.num_hidden_layers == 6
    # MPNet's shared relative-position bias lives outside the layers and must be copied too.
    teacher = load_mlm_model("mpnet-base")
    assert torch.equal(
        model.encoder.relative_attention_bias.weight, teacher.model.mpnet.encoder.relative_attention_bias.weight
    )
