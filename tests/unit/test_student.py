"""Students from teachers: tensor-by-tensor copies, identical outputs, plain-transformers loading."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from distilcli.errors import BadInput
from distilcli.models import convert
from distilcli.models.loading import load_mlm_model
from distilcli.models.student import (
    StudentConfig,
    build_student,
    choose_layer_map,
    parse_layer_map,
    run_student,
    spread_layers,
)
from tests.conftest import ARCHITECTURES, NUM_LAYERS


def _layer_tensors(model, adapter, index: int) -> dict[str, torch.Tensor]:
    return dict(adapter.layers(model)[index].state_dict())


# -- layer maps ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("teacher", "n", "expected"),
    [(12, 6, [0, 2, 4, 6, 8, 10]), (6, 3, [0, 2, 4]), (12, 4, [0, 3, 6, 9]), (12, 12, list(range(12))), (6, 1, [0])],
)
def test_spread_layers(teacher: int, n: int, expected: list[int]) -> None:
    assert spread_layers(teacher, n) == expected


def test_choose_layer_map_defaults_to_half() -> None:
    assert choose_layer_map(12) == [0, 2, 4, 6, 8, 10]


@pytest.mark.parametrize(
    ("layers", "layer_map", "message"),
    [
        (0, None, "out of range"),
        (7, None, "out of range"),
        (None, [0, 6], "teacher's layers are 0..5"),
        (None, [2, 1], "increasing order"),
        (None, [1, 1], "increasing order"),
        (None, [], "empty"),
        (3, [0, 1, 2], "not both"),
    ],
)
def test_choose_layer_map_rejects(layers, layer_map, message) -> None:
    with pytest.raises(BadInput, match=message):
        choose_layer_map(6, layers, layer_map)


def test_parse_layer_map() -> None:
    assert parse_layer_map("0, 2,4") == [0, 2, 4]
    assert parse_layer_map([1, 3]) == [1, 3]
    assert parse_layer_map(None) is None
    with pytest.raises(BadInput, match="comma-separated"):
        parse_layer_map("0;2")


# -- same-architecture students ---------------------------------------------------------------------


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_student_layers_equal_mapped_teacher_layers(arch: str, tiny_models: dict[str, Path]) -> None:
    teacher = load_mlm_model(str(tiny_models[arch]))
    layer_map = [1, 3]
    student = build_student(teacher, layer_map)
    adapter = teacher.adapter
    assert len(adapter.layers(student)) == 2
    for i, t in enumerate(layer_map):
        s_tensors = _layer_tensors(student, adapter, i)
        t_tensors = _layer_tensors(teacher.model, adapter, t)
        assert s_tensors.keys() == t_tensors.keys()
        for name in s_tensors:
            assert torch.equal(s_tensors[name], t_tensors[name]), f"layer {i} <- {t}: {name}"
    # Everything outside the layers (embeddings, head, MPNet's relative bias) is copied as is.
    layer_prefix = adapter.layer_key_prefix() + "."
    t_state = teacher.model.state_dict()
    for key, tensor in student.state_dict().items():
        if not key.startswith(layer_prefix):
            assert torch.equal(tensor, t_state[key]), key
    # Copies, not shared storage: training the student must never touch the teacher.
    first = next(iter(student.parameters()))
    assert all(first.data_ptr() != p.data_ptr() for p in teacher.model.parameters())


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_student_with_every_layer_reproduces_teacher(arch: str, tiny_models: dict[str, Path], sample_batch) -> None:
    teacher = load_mlm_model(str(tiny_models[arch]))
    student = build_student(teacher, list(range(NUM_LAYERS)))
    inputs = {k: v for k, v in sample_batch.items() if k != "token_type_ids" or teacher.adapter.uses_token_type_ids}
    with torch.no_grad():
        t_out = teacher.model(**inputs, output_hidden_states=True)
        s_out = student(**inputs, output_hidden_states=True)
    torch.testing.assert_close(s_out.logits, t_out.logits, rtol=0, atol=0)
    torch.testing.assert_close(s_out.hidden_states[-1], t_out.hidden_states[-1], rtol=0, atol=0)


def test_student_outputs_differ_when_layers_dropped(tiny_models: dict[str, Path], sample_batch) -> None:
    teacher = load_mlm_model(str(tiny_models["bert"]))
    student = build_student(teacher, [0, 2])
    with torch.no_grad():
        assert not torch.allclose(student(**sample_batch).logits, teacher.model(**sample_batch).logits)


# -- BERT -> DistilBERT ---------------------------------------------------------------------------


def test_bert_to_distilbert_reference_mapping(tiny_models: dict[str, Path]) -> None:
    teacher = load_mlm_model(str(tiny_models["bert"]))
    layer_map = [0, 3]
    student = build_student(teacher, layer_map, arch="distilbert")
    assert student.config.model_type == "distilbert"
    assert student.config.n_layers == 2
    t = teacher.model.state_dict()
    s = student.state_dict()
    assert not any("token_type" in key for key in s)  # DistilBERT has no segment embeddings
    for i, src in enumerate(layer_map):
        for dst, bert_name in [
            ("attention.q_lin", "attention.self.query"),
            ("attention.k_lin", "attention.self.key"),
            ("attention.v_lin", "attention.self.value"),
            ("attention.out_lin", "attention.output.dense"),
            ("sa_layer_norm", "attention.output.LayerNorm"),
            ("ffn.lin1", "intermediate.dense"),
            ("ffn.lin2", "output.dense"),
            ("output_layer_norm", "output.LayerNorm"),
        ]:
            for kind in ("weight", "bias"):
                assert torch.equal(
                    s[f"distilbert.transformer.layer.{i}.{dst}.{kind}"],
                    t[f"bert.encoder.layer.{src}.{bert_name}.{kind}"],
                )
    assert torch.equal(s["distilbert.embeddings.word_embeddings.weight"], t["bert.embeddings.word_embeddings.weight"])
    assert torch.equal(
        s["distilbert.embeddings.position_embeddings.weight"], t["bert.embeddings.position_embeddings.weight"]
    )
    assert torch.equal(s["vocab_transform.weight"], t["cls.predictions.transform.dense.weight"])
    assert torch.equal(s["vocab_projector.bias"], t["cls.predictions.bias"])


def test_distilbert_with_folded_token_type_reproduces_bert(tiny_models: dict[str, Path], sample_batch) -> None:
    teacher = load_mlm_model(str(tiny_models["bert"]))
    student = build_student(teacher, list(range(NUM_LAYERS)), arch="distilbert", fold_token_type=True)
    with torch.no_grad():
        t_logits = teacher.model(**sample_batch).logits  # token_type_ids all 0: one segment
        s_logits = student(input_ids=sample_batch["input_ids"], attention_mask=sample_batch["attention_mask"]).logits
    torch.testing.assert_close(s_logits, t_logits, rtol=1e-5, atol=1e-5)


def test_distilbert_needs_bert_teacher(tiny_models: dict[str, Path]) -> None:
    teacher = load_mlm_model(str(tiny_models["mpnet"]))
    with pytest.raises(BadInput, match="needs a bert teacher"):
        build_student(teacher, [0, 1], arch="distilbert")


def test_unknown_student_arch(tiny_models: dict[str, Path]) -> None:
    teacher = load_mlm_model(str(tiny_models["bert"]))
    with pytest.raises(BadInput, match="not a student architecture"):
        build_student(teacher, [0, 1], arch="gpt2")


def test_gather_checks_sources() -> None:
    with pytest.raises(KeyError, match="teacher has no tensor"):
        convert.gather({}, {"a": torch.zeros(1)}, {"a": "b"})
    with pytest.raises(ValueError, match="shape"):
        convert.gather({"b": torch.zeros(2)}, {"a": torch.zeros(1)}, {"a": "b"})


# -- run_student: saved folder ---------------------------------------------------------------------


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_saved_student_loads_with_plain_transformers(arch: str, tiny_models: dict[str, Path], tmp_path: Path) -> None:
    from transformers import AutoModel, AutoModelForMaskedLM, AutoTokenizer

    out = tmp_path / "student"
    report = run_student(StudentConfig(teacher=str(tiny_models[arch]), out=out, layer_map="0,2"))
    assert report.metrics["student_num_layers"] == 2
    assert report.artifacts["student"] == str(out)
    AutoModel.from_pretrained(out)
    AutoTokenizer.from_pretrained(out)
    reloaded = AutoModelForMaskedLM.from_pretrained(out)
    teacher = load_mlm_model(str(tiny_models[arch]))
    adapter = teacher.adapter
    for i, t in enumerate([0, 2]):
        for name, tensor in _layer_tensors(reloaded, adapter, i).items():
            assert torch.equal(tensor, _layer_tensors(teacher.model, adapter, t)[name])
    config = json.loads((out / "config.json").read_text())
    assert config["distilcli"]["layer_map"] == [0, 2]
    assert config["distilcli"]["teacher"] == str(tiny_models[arch])
    card = (out / "README.md").read_text()
    assert "0←0, 1←2" in card and str(tiny_models[arch]) in card
    # Only the final folder is left: no temp folders beside it.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["student"]


def test_saved_distilbert_student_loads(tiny_models: dict[str, Path], tmp_path: Path) -> None:
    from transformers import AutoModel

    out = tmp_path / "distil"
    run_student(StudentConfig(teacher=str(tiny_models["bert"]), out=out, layers=2, arch="distilbert"))
    model = AutoModel.from_pretrained(out)
    assert model.config.model_type == "distilbert" and model.config.n_layers == 2


def test_existing_output_refused_without_overwrite(tiny_models: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "student"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(BadInput, match="--overwrite"):
        run_student(StudentConfig(teacher=str(tiny_models["bert"]), out=out, layers=2))
    assert (out / "keep.txt").read_text() == "mine"
    # Issue 14: a folder distilcli did not write is never replaced, even with --overwrite ...
    with pytest.raises(BadInput, match="not written by distilcli"):
        run_student(StudentConfig(teacher=str(tiny_models["bert"]), out=out, layers=2, overwrite=True))
    assert (out / "keep.txt").read_text() == "mine"
    # ... while a student distilcli made there is.
    (out / "keep.txt").unlink()
    run_student(StudentConfig(teacher=str(tiny_models["bert"]), out=out, layers=2, overwrite=True))
    (out / "old.txt").write_text("from the old run")
    run_student(StudentConfig(teacher=str(tiny_models["bert"]), out=out, layers=2, overwrite=True))
    assert not (out / "old.txt").exists() and (out / "config.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["student"]


def test_head_status_recorded(tiny_encoders: dict[str, Path], tmp_path: Path) -> None:
    report = run_student(StudentConfig(teacher=str(tiny_encoders["bert"]), out=tmp_path / "s", layers=2))
    assert report.body["teacher_mlm_head_trained"] is False
    assert "no trained MLM head" in (tmp_path / "s" / "README.md").read_text()
    # The student's checkpoint holds head weights, but they were never trained.
    assert load_mlm_model(str(tmp_path / "s")).has_trained_mlm_head is False


def test_trained_head_carried_to_student(tiny_models: dict[str, Path], tmp_path: Path) -> None:
    run_student(StudentConfig(teacher=str(tiny_models["bert"]), out=tmp_path / "s", layers=2))
    assert load_mlm_model(str(tmp_path / "s")).has_trained_mlm_head is True


def test_random_init_keeps_the_shape_but_not_the_weights(tiny_models: dict[str, Path], tmp_path: Path) -> None:
    import torch
    from transformers import AutoModelForMaskedLM

    from distilcli.models.student import StudentConfig, run_student

    copied, drawn, again = tmp_path / "copied", tmp_path / "drawn", tmp_path / "again"
    run_student(StudentConfig(teacher=str(tiny_models["bert"]), out=copied, layer_map=[0, 1]))
    report = run_student(StudentConfig(teacher=str(tiny_models["bert"]), out=drawn, layer_map=[0, 1], random_init=True, seed=3))
    run_student(StudentConfig(teacher=str(tiny_models["bert"]), out=again, layer_map=[0, 1], random_init=True, seed=3))
    a, b, c = (AutoModelForMaskedLM.from_pretrained(p).state_dict() for p in (copied, drawn, again))
    assert a.keys() == b.keys() and all(a[k].shape == b[k].shape for k in a)
    weights = [k for k in a if k.endswith("weight") and "LayerNorm" not in k]
    assert all(not torch.equal(a[k], b[k]) for k in weights)  # every weight matrix drawn afresh
    assert all(torch.equal(b[k], c[k]) for k in b)  # the same seed draws the same student
    assert report.body["random_init"] is True and report.body["mlm_head_trained"] is False


def test_student_of_a_sentence_encoder_keeps_its_sentence_transformers_files(tiny_models: dict[str, Path], tmp_path: Path) -> None:
    import shutil

    teacher = tmp_path / "teacher"
    shutil.copytree(tiny_models["bert"], teacher)
    from tests.conftest import write_sentence_transformers_files

    write_sentence_transformers_files(teacher, {"pooling_mode_mean_tokens": True}, normalize="../outside")
    out = tmp_path / "student"
    run_student(StudentConfig(teacher=str(teacher), out=out, layers=2))
    assert (out / "modules.json").is_file() and (out / "1_Pooling" / "config.json").is_file()
    assert not (tmp_path / "student" / ".." / "outside" / "1_Pooling").exists()  # a path out of the folder is never followed
    run_student(StudentConfig(teacher=str(tiny_models["bert"]), out=tmp_path / "plain", layers=2))
    assert not (tmp_path / "plain" / "modules.json").exists()  # a plain teacher: nothing to copy
    # Its card says what it is: a sentence encoder for the Hub, a fill-mask model otherwise.
    from huggingface_hub import ModelCard

    encoder, plain = (ModelCard.load(tmp_path / name / "README.md").data for name in ("student", "plain"))
    assert (encoder.library_name, encoder.pipeline_tag) == ("sentence-transformers", "sentence-similarity")
    assert (plain.library_name, plain.pipeline_tag) == ("transformers", "fill-mask")
