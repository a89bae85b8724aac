"""Task-specific distillation on SQuAD (``distil distill --task squad``): the span loss and the run."""

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

WINDOW = dict(max_seq_length=64, doc_stride=16, max_query_length=16)


@pytest.fixture(scope="module")
def squad_teacher(tiny_encoders: dict[str, Path], tiny_squad: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("squad-teacher") / "teacher"
    run_finetune(FinetuneConfig(model=str(tiny_encoders["bert"]), task="squad", out=out, train_file=tiny_squad / "train.json",
                                dev_file=tiny_squad / "dev.json", batch_size=8, lr=1e-3, max_steps=12, **WINDOW))  # fmt: skip
    return out


def _cfg(teacher: Path, squad: Path, out: Path, **overrides) -> DistillConfig:
    base = dict(teacher=str(teacher), out=out, task="squad", train_file=squad / "train.json", dev_file=squad / "dev.json",
                layer_map="0,2", batch_size=8, lr=1e-3, max_steps=6, eval_every=3, log_every=2, **WINDOW)  # fmt: skip
    base.update(overrides)
    return DistillConfig(**base)


def _log_softmax(x: np.ndarray) -> np.ndarray:
    shifted = x - x.max()
    return shifted - np.log(np.exp(shifted).sum())


@pytest.mark.parametrize("T", [2.0, 0.5])
def test_span_loss_is_the_mean_of_start_and_end_kl_times_t_squared_over_real_tokens(T: float) -> None:
    rng = np.random.default_rng(0)
    student, teacher = rng.normal(size=(2, 5, 2)), rng.normal(size=(2, 5, 2))
    mask = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    starts, ends = np.array([1, 2]), np.array([3, 2])
    # Independent computation: per row, softmax over the real tokens only.
    kd, ce = [], []
    for k, gold in enumerate((starts, ends)):
        kl_rows, ce_rows = [], []
        for b in range(2):
            n = mask[b].sum()
            p_t = np.exp(_log_softmax(teacher[b, :n, k] / T))
            kl_rows.append(np.sum(p_t * (np.log(p_t) - _log_softmax(student[b, :n, k] / T))))
            ce_rows.append(-_log_softmax(student[b, :n, k])[gold[b]])
        kd.append(np.mean(kl_rows) * T**2)
        ce.append(np.mean(ce_rows))
    s = torch.tensor(student, requires_grad=True)
    t = torch.tensor(teacher, requires_grad=True)
    parts = TaskTeacher(model=None, alpha_ce=0.5, alpha_task=0.5, temperature=T).span_loss(
        s, t.detach(), (torch.tensor(starts), torch.tensor(ends)), torch.tensor(mask)
    )
    assert parts["loss_kd"].item() == pytest.approx((kd[0] + kd[1]) / 2, rel=1e-6)
    assert parts["loss_task"].item() == pytest.approx((ce[0] + ce[1]) / 2, rel=1e-6)
    assert parts["loss"].item() == pytest.approx(0.5 * (kd[0] + kd[1]) / 2 + 0.5 * (ce[0] + ce[1]) / 2, rel=1e-6)
    parts["loss"].backward()
    assert s.grad is not None and t.grad is None
    assert torch.all(s.grad[1, 3:] == 0)  # padding gets no gradient


def test_squad_task_distillation_run(squad_teacher: Path, tiny_squad: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForQuestionAnswering

    report = run_distill(_cfg(squad_teacher, tiny_squad, tmp_path / "student"))
    assert report.command == "distill" and report.primary_metric == "f1"
    assert {"exact_match", "f1", "teacher_f1", "teacher_exact_match", "student_parameters_total", "teacher_parameters_total"} <= set(report.metrics)
    # The teacher's 12 steps on the tiny set score above 0, so retention is defined and checked.
    assert report.metrics["teacher_f1"] > 0, report.metrics
    assert report.metrics["retention"] == pytest.approx(report.metrics["f1"] / report.metrics["teacher_f1"])
    assert report.metrics["student_parameters_total"] < report.metrics["teacher_parameters_total"]
    model = AutoModelForQuestionAnswering.from_pretrained(tmp_path / "student")
    assert model.config.num_hidden_layers == 2
    assert report.config["max_seq_length"] == 64 and report.body["layer_map"] == [0, 2]


def test_squad_cached_teacher_gives_the_same_training(squad_teacher: Path, tiny_squad: Path, tmp_path: Path) -> None:
    live = run_distill(_cfg(squad_teacher, tiny_squad, tmp_path / "live"))
    cached = run_distill(_cfg(squad_teacher, tiny_squad, tmp_path / "cached", cache_teacher=True))
    a, b = live.body["runs"][0]["loss_curve"]["loss"], cached.body["runs"][0]["loss_curve"]["loss"]
    assert np.allclose(a, b, rtol=1e-4, atol=1e-5)


def test_squad_defaults_and_errors(squad_teacher: Path, tiny_squad: Path, tiny_encoders: dict[str, Path], tmp_path: Path) -> None:
    from distilcli.distill.config import with_mode_defaults

    assert with_mode_defaults(DistillConfig(teacher="t", out=tmp_path, task="squad")).max_seq_length == 384
    assert with_mode_defaults(DistillConfig(teacher="t", out=tmp_path, task="glue:sst2")).max_seq_length == 128
    with pytest.raises(BadInput, match="no trained question-answering head"):
        run_distill(_cfg(tiny_encoders["bert"], tiny_squad, tmp_path / "a"))
    with pytest.raises(BadInput, match="expected glue:<name>"):
        run_distill(_cfg(squad_teacher, tiny_squad, tmp_path / "b", task="squad:v3"))
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
