"""Task-specific distillation (``distil distill --task glue:<name>``): the loss, the run, its errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from distilcli.distill.config import DistillConfig
from distilcli.distill.engine import run_distill
from distilcli.errors import BadInput
from distilcli.finetune.config import FinetuneConfig
from distilcli.finetune.engine import TaskTeacher, run_finetune


@pytest.fixture(scope="module")
def sst2_teacher(tiny_encoders: dict[str, Path], tiny_glue: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("teacher") / "sst2"
    run_finetune(FinetuneConfig(model=str(tiny_encoders["bert"]), task="sst2", out=out, glue_dir=tiny_glue, batch_size=8, lr=1e-3, epochs=6))
    return out


def _cfg(teacher: Path, glue: Path, out: Path, **overrides) -> DistillConfig:
    base = dict(teacher=str(teacher), out=out, task="glue:sst2", glue_dir=glue, layer_map="0,2", batch_size=8, lr=1e-3, epochs=2, log_every=4)
    base.update(overrides)
    return DistillConfig(**base)


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_loss_is_kl_times_t_squared_plus_the_task_loss() -> None:
    s = torch.tensor([[1.0, -0.5, 0.2], [0.3, 0.9, -1.2]])
    t = torch.tensor([[2.0, 0.0, -1.0], [-0.4, 1.5, 0.1]])
    labels = torch.tensor([0, 2])
    T = 2.0
    parts = TaskTeacher(model=None, alpha_ce=5.0, alpha_task=0.5, temperature=T).loss(s, t, labels, regression=False)
    p_t, p_s = _softmax(t.numpy() / T), _softmax(s.numpy() / T)
    kl = float((p_t * (np.log(p_t) - np.log(p_s))).sum(axis=1).mean()) * T**2  # per example, then the batch mean
    ce = float(-np.log(_softmax(s.numpy())[[0, 1], [0, 2]]).mean())
    assert parts["loss_kd"].item() == pytest.approx(kl, rel=1e-5)
    assert parts["loss_task"].item() == pytest.approx(ce, rel=1e-5)
    assert parts["loss"].item() == pytest.approx(5.0 * kl + 0.5 * ce, rel=1e-5)


def test_regression_loss_is_mse_against_teacher_and_gold() -> None:
    s, t, gold = torch.tensor([[1.0], [3.0]]), torch.tensor([[1.5], [2.0]]), torch.tensor([2.0, 4.0])
    parts = TaskTeacher(model=None, alpha_ce=1.0, alpha_task=2.0, temperature=2.0).loss(s, t, gold, regression=True)
    assert parts["loss_kd"].item() == pytest.approx((0.25 + 1.0) / 2)  # no temperature on scores
    assert parts["loss_task"].item() == pytest.approx((1.0 + 1.0) / 2)
    assert parts["loss"].item() == pytest.approx(0.625 + 2.0)


def test_gradients_reach_only_the_student() -> None:
    s = torch.randn(3, 2, requires_grad=True)
    t = torch.randn(3, 2, requires_grad=True)
    TaskTeacher(model=None, alpha_ce=1.0, alpha_task=1.0, temperature=2.0).loss(s, t.detach(), torch.tensor([0, 1, 1]), False)["loss"].backward()
    assert s.grad is not None and t.grad is None


def test_teacher_logits_are_put_in_task_order() -> None:
    # Teacher index 0 is task label 2 (contradiction first), 1 is 0, 2 is 1.
    teacher = TaskTeacher(model=None, alpha_ce=1.0, alpha_task=1.0, temperature=1.0, permutation=[2, 0, 1])
    logits = torch.tensor([[10.0, 20.0, 30.0]])
    assert teacher.task_order(logits).tolist() == [[20.0, 30.0, 10.0]]


def test_task_distillation_run(sst2_teacher: Path, tiny_glue: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForSequenceClassification

    report = run_distill(_cfg(sst2_teacher, tiny_glue, tmp_path / "student", eval_every=6))
    m = report.metrics
    assert report.command == "distill" and report.primary_metric == "accuracy"
    assert m["retention"] == pytest.approx(m["accuracy"] / m["teacher_accuracy"])
    assert m["student_parameters_total"] < m["teacher_parameters_total"]
    assert report.body["layer_map"] == [0, 2] and report.body["alphas"] == {"ce": 5.0, "task": 1.0}
    assert report.config["lr"] == 1e-3 and report.config["task"] == "glue:sst2"
    student = AutoModelForSequenceClassification.from_pretrained(tmp_path / "student")
    assert student.config.num_hidden_layers == 2
    assert student.config.distilcli["finetune"]["task"] == "sst2"


def test_task_defaults_differ_from_general_ones(sst2_teacher: Path, tiny_glue: Path, tmp_path: Path) -> None:
    report = run_distill(_cfg(sst2_teacher, tiny_glue, tmp_path / "s", batch_size=None, lr=None, max_steps=1))
    assert report.config["batch_size"] == 32 and report.config["lr"] == 5e-5


def test_cached_teacher_gives_the_same_training(sst2_teacher: Path, tiny_glue: Path, tmp_path: Path) -> None:
    live = run_distill(_cfg(sst2_teacher, tiny_glue, tmp_path / "live", max_steps=8, eval_every=4))
    cached = run_distill(_cfg(sst2_teacher, tiny_glue, tmp_path / "cached", max_steps=8, eval_every=4, cache_teacher=True))
    a = live.body["runs"][0]["loss_curve"]["loss"]
    b = cached.body["runs"][0]["loss_curve"]["loss"]
    np.testing.assert_allclose(a, b, rtol=1e-4)  # padding differs between the two passes: equal to float noise


def test_distilbert_student_from_a_bert_teacher(sst2_teacher: Path, tiny_glue: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForSequenceClassification, DistilBertForSequenceClassification

    report = run_distill(_cfg(sst2_teacher, tiny_glue, tmp_path / "d", arch="distilbert", max_steps=4, cache_teacher=True))
    assert report.metrics["steps"] == 4
    student = AutoModelForSequenceClassification.from_pretrained(tmp_path / "d")
    assert isinstance(student, DistilBertForSequenceClassification) and student.config.model_type == "distilbert"
    assert student.config.n_layers == 2 and student.config.num_labels == 2


def test_task_distillation_errors(sst2_teacher: Path, tiny_encoders: dict[str, Path], tiny_glue: Path, tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="no trained classification head"):
        run_distill(_cfg(tiny_encoders["bert"], tiny_glue, tmp_path / "a"))
    with pytest.raises(BadInput, match="--glue-dir is a GLUE option"):
        run_distill(_cfg(sst2_teacher, tiny_glue, tmp_path / "b", task="squad"))
    with pytest.raises(BadInput, match="expected glue:<name>"):
        run_distill(_cfg(sst2_teacher, tiny_glue, tmp_path / "c", task="sst2"))
    with pytest.raises(BadInput, match="fine-tuned on SST-2, not CoLA"):
        run_distill(_cfg(sst2_teacher, tiny_glue, tmp_path / "d", task="glue:cola"))
    with pytest.raises(BadInput, match="both 0"):
        run_distill(_cfg(sst2_teacher, tiny_glue, tmp_path / "e", alpha_ce=0.0, alpha_task=0.0))
    assert not any((tmp_path / name).exists() for name in "abcde")


def test_student_head_starts_from_the_teachers(sst2_teacher: Path, tiny_encoders: dict[str, Path]) -> None:
    from distilcli.tasks.glue.spec import resolve_task
    from distilcli.distill.task import copy_head
    from distilcli.tasks.glue.head import load_classifier
    from distilcli.models.resolve import resolve_model

    teacher = load_classifier(resolve_model(sst2_teacher), resolve_task("sst2"), for_training=False)
    student = load_classifier(resolve_model(tiny_encoders["bert"]), resolve_task("sst2"), for_training=True)
    copied = copy_head(teacher.model, student)
    # Every tensor the student starts fresh (the classifier; the pooler only when its checkpoint lacks one)
    # is taken from the teacher: same architecture, same shapes.
    assert "classifier.weight" in copied and "classifier.bias" in copied
    assert copied == student.missing_keys
    assert torch.equal(student.model.classifier.weight, teacher.model.classifier.weight)
