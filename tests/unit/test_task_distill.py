"""Task-specific distillation (``distil distill --task glue:<name>|squad|squad_v2``): the losses, the runs, their errors.

The runs shared by every task (a cached teacher, interrupt and resume) are parametrised over a
GLUE task and SQuAD; each task's own checks follow its section.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from distilcli.distill.config import DistillConfig
from distilcli.distill.engine import run_distill
from distilcli.distill.task_kd import SpanKDLoss, TaskKDLoss
from distilcli.errors import BadInput, Interrupted
from distilcli.finetune.config import FinetuneConfig
from distilcli.finetune.engine import run_finetune

WINDOW = dict(max_seq_length=64, doc_stride=16, max_query_length=16)


@pytest.fixture(scope="module")
def squad_teacher(tiny_encoders: dict[str, Path], tiny_squad: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("squad-teacher") / "teacher"
    run_finetune(FinetuneConfig(model=str(tiny_encoders["bert"]), task="squad", out=out, train_file=tiny_squad / "train.json",
                                dev_file=tiny_squad / "dev.json", batch_size=8, lr=1e-3, max_steps=12, **WINDOW))  # fmt: skip
    return out


def _cfg(teacher: Path, glue: Path, out: Path, **overrides) -> DistillConfig:
    base = dict(teacher=str(teacher), out=out, task="glue:sst2", glue_dir=glue, layer_map="0,2", batch_size=8, lr=1e-3, epochs=2, log_every=4)
    base.update(overrides)
    return DistillConfig(**base)


def _squad_cfg(teacher: Path, squad: Path, out: Path, **overrides) -> DistillConfig:
    base = dict(teacher=str(teacher), out=out, task="squad", train_file=squad / "train.json", dev_file=squad / "dev.json",
                layer_map="0,2", batch_size=8, lr=1e-3, max_steps=6, eval_every=3, log_every=2, **WINDOW)  # fmt: skip
    base.update(overrides)
    return DistillConfig(**base)


def _task_cfg(task: str, request: pytest.FixtureRequest, out: Path, **overrides) -> DistillConfig:
    """A short run of ``task`` from its tiny fine-tuned teacher (each teacher is trained on first use)."""
    if task == "squad":
        return _squad_cfg(request.getfixturevalue("squad_teacher"), request.getfixturevalue("tiny_squad"), out, **overrides)
    return _cfg(request.getfixturevalue("sst2_teacher"), request.getfixturevalue("tiny_glue"), out, **overrides)


# Each task's run length: several logged losses and two evaluations.
RUNS = [pytest.param("glue:sst2", {"max_steps": 8, "eval_every": 4}, id="glue"), pytest.param("squad", {}, id="squad")]


# -- every task -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("task", "run"), RUNS)
def test_cached_teacher_gives_the_same_training(task: str, run: dict[str, int], request: pytest.FixtureRequest, tmp_path: Path) -> None:
    live = run_distill(_task_cfg(task, request, tmp_path / "live", **run))
    cached = run_distill(_task_cfg(task, request, tmp_path / "cached", cache_teacher=True, **run))
    a = live.body["runs"][0]["loss_curve"]["loss"]
    b = cached.body["runs"][0]["loss_curve"]["loss"]
    assert len(a) >= 2
    np.testing.assert_allclose(a, b, rtol=1e-4)  # padding differs between the two passes: equal to float noise


@pytest.mark.parametrize(("task", "run"), RUNS)
def test_interrupt_and_resume_equal_an_uninterrupted_run(task: str, run: dict[str, int], request: pytest.FixtureRequest, tmp_path: Path) -> None:
    from safetensors.torch import load_file

    cfg = _task_cfg(task, request, tmp_path / "full", **run)
    full = run_distill(cfg)

    def stop(step: int) -> None:
        if step == cfg.eval_every + 1:  # after a checkpoint, before the next one
            raise KeyboardInterrupt

    cut = replace(cfg, out=tmp_path / "cut")
    with pytest.raises(Interrupted, match="--resume"):
        run_distill(cut, on_step=stop)
    resumed = run_distill(replace(cut, resume=True))
    assert resumed.body["runs"][0]["history"] == full.body["runs"][0]["history"]
    assert resumed.body["runs"][0]["loss_curve"] == full.body["runs"][0]["loss_curve"]
    a, b = load_file(tmp_path / "full" / "model.safetensors"), load_file(tmp_path / "cut" / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# -- GLUE: classification and regression logits -------------------------------------------------


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_loss_is_kl_times_t_squared_plus_the_task_loss() -> None:
    s = torch.tensor([[1.0, -0.5, 0.2], [0.3, 0.9, -1.2]])
    t = torch.tensor([[2.0, 0.0, -1.0], [-0.4, 1.5, 0.1]])
    labels = torch.tensor([0, 2])
    T = 2.0
    parts = TaskKDLoss(alpha_ce=5.0, alpha_task=0.5, temperature=T, regression=False)(s, t, labels)
    p_t, p_s = _softmax(t.numpy() / T), _softmax(s.numpy() / T)
    kl = float((p_t * (np.log(p_t) - np.log(p_s))).sum(axis=1).mean()) * T**2  # per example, then the batch mean
    ce = float(-np.log(_softmax(s.numpy())[[0, 1], [0, 2]]).mean())
    assert parts["loss_kd"].item() == pytest.approx(kl, rel=1e-5)
    assert parts["loss_task"].item() == pytest.approx(ce, rel=1e-5)
    assert parts["loss"].item() == pytest.approx(5.0 * kl + 0.5 * ce, rel=1e-5)


def test_regression_loss_is_mse_against_teacher_and_gold() -> None:
    s, t, gold = torch.tensor([[1.0], [3.0]]), torch.tensor([[1.5], [2.0]]), torch.tensor([2.0, 4.0])
    parts = TaskKDLoss(alpha_ce=1.0, alpha_task=2.0, temperature=2.0, regression=True)(s, t, gold)
    assert parts["loss_kd"].item() == pytest.approx((0.25 + 1.0) / 2)  # no temperature on scores
    assert parts["loss_task"].item() == pytest.approx((1.0 + 1.0) / 2)
    assert parts["loss"].item() == pytest.approx(0.625 + 2.0)


@pytest.mark.parametrize("regression", [False, True])
def test_a_step_cut_into_micro_batches_learns_the_gold_labels_as_the_whole_step(regression: bool) -> None:
    """The loop weighs each part by its rows (n_k / N); gold_weight makes L_task the step's gold mean anyway."""
    from distilcli.distill.task_kd import gold_weight

    torch.manual_seed(0)
    n_gold, step = 3, [5, 0, 6, 1, 7, 8, 2, 3, 4]  # gold rows are indices 0..2; the rest are new inputs
    parts = [[5, 0], [6], [1, 7, 8, 2], [3, 4]]  # unequal parts, one without gold, as a length split cuts them
    logits = torch.randn(9, 1 if regression else 3, requires_grad=True)
    teacher = torch.randn(9, 1 if regression else 3)
    labels = torch.randn(9) if regression else torch.randint(0, 3, (9,))
    loss = TaskKDLoss(alpha_ce=2.0, alpha_task=1.5, regression=regression)
    gold = torch.tensor(step) < n_gold
    (whole,) = torch.autograd.grad(loss(logits, teacher, labels, gold)["loss"], logits)
    cut = torch.zeros(())
    for part in parts:
        rows = [step.index(i) for i in part]
        weight = gold_weight(part, step, n_gold)
        cut = cut + loss(logits[rows], teacher[rows], labels[rows], gold[rows], weight)["loss"] * len(part) / len(step)
    (by_parts,) = torch.autograd.grad(cut, logits)
    torch.testing.assert_close(by_parts, whole)
    assert gold_weight([0, 5], step, n_gold) == pytest.approx((1 / 3) / (2 / 9))
    assert gold_weight(step, step, n_gold) == 1.0


def test_gradients_reach_only_the_student() -> None:
    s = torch.randn(3, 2, requires_grad=True)
    t = torch.randn(3, 2, requires_grad=True)
    TaskKDLoss(alpha_ce=1.0, alpha_task=1.0, temperature=2.0)(s, t.detach(), torch.tensor([0, 1, 1]))["loss"].backward()
    assert s.grad is not None and t.grad is None


def test_teacher_logits_are_put_in_task_order() -> None:
    # Teacher index 0 is task label 2 (contradiction first), 1 is 0, 2 is 1.
    from distilcli.tasks.glue.entry import to_task_order

    logits = torch.tensor([[10.0, 20.0, 30.0]])
    assert to_task_order(logits, [2, 0, 1]).tolist() == [[20.0, 30.0, 10.0]]


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
    with pytest.raises(BadInput, match="unknown GLUE task 'sst3': did you mean 'sst2'"):
        run_distill(_cfg(sst2_teacher, tiny_glue, tmp_path / "c", task="glue:sst3"))
    with pytest.raises(BadInput, match="fine-tuned on SST-2, not CoLA"):
        run_distill(_cfg(sst2_teacher, tiny_glue, tmp_path / "d", task="glue:cola"))
    with pytest.raises(BadInput, match="both 0"):
        run_distill(_cfg(sst2_teacher, tiny_glue, tmp_path / "e", alpha_ce=0.0, alpha_task=0.0))
    with pytest.raises(BadInput, match="^--alpha-sim compare sentence embeddings.*use --task embeddings"):
        run_distill(_cfg(sst2_teacher, tiny_glue, tmp_path / "f", alpha_sim=1.0))
    with pytest.raises(BadInput, match="^--alpha-rank compare sentence embeddings"):
        run_distill(_cfg(sst2_teacher, tiny_glue, tmp_path / "g", alpha_rank=1.0))
    assert not any((tmp_path / name).exists() for name in "abcdefg")


def test_student_head_starts_from_the_teachers(sst2_teacher: Path, tiny_encoders: dict[str, Path]) -> None:
    from distilcli.distill.task_guide import copy_head
    from distilcli.models.resolve import resolve_model
    from distilcli.tasks.glue.head import load_classifier
    from distilcli.tasks.glue.spec import resolve_task

    teacher = load_classifier(resolve_model(sst2_teacher), resolve_task("sst2"), for_training=False)
    student = load_classifier(resolve_model(tiny_encoders["bert"]), resolve_task("sst2"), for_training=True)
    copied = copy_head(teacher.model, student)
    # Every tensor the student starts fresh (the classifier; the pooler only when its checkpoint lacks one)
    # is taken from the teacher: same architecture, same shapes.
    assert "classifier.weight" in copied and "classifier.bias" in copied
    assert copied == student.missing_keys
    assert torch.equal(student.model.classifier.weight, teacher.model.classifier.weight)


def test_a_teacher_with_its_labels_in_another_order_gives_the_student_its_head_in_the_tasks(
    tiny_encoders: dict[str, Path], sample_batch, tmp_path: Path
) -> None:
    """An MNLI teacher listing its labels in a rotated order: the student (same backbone) scores as the teacher does
    once the teacher's outputs are put in the task's order; a rotation tells the mapping from its inverse."""
    from distilcli.distill.task_guide import copy_head
    from distilcli.models.resolve import resolve_model
    from distilcli.tasks.glue.entry import to_task_order
    from distilcli.tasks.glue.head import load_classifier
    from distilcli.tasks.glue.spec import resolve_task

    mnli = resolve_task("mnli")
    fresh = load_classifier(resolve_model(tiny_encoders["bert"]), mnli, for_training=True)
    names = ["neutral", "contradiction", "entailment"]  # output j of this teacher is the label names[j]
    fresh.model.config.id2label, fresh.model.config.label2id = dict(enumerate(names)), {n: i for i, n in enumerate(names)}
    fresh.model.save_pretrained(tmp_path / "teacher")
    fresh.tokenizer.save_pretrained(tmp_path / "teacher")
    teacher = load_classifier(resolve_model(str(tmp_path / "teacher")), mnli, for_training=False)
    assert teacher.label_permutation is not None and sorted(teacher.label_permutation) == [0, 1, 2]
    assert teacher.label_permutation != [0, 1, 2] and teacher.label_permutation[teacher.label_permutation[0]] != 0  # no swap
    student = load_classifier(resolve_model(tiny_encoders["bert"]), mnli, for_training=True)
    copy_head(teacher.model, student, teacher.label_permutation)
    batch = {k: v for k, v in sample_batch.items() if k in ("input_ids", "attention_mask")}
    with torch.no_grad():
        wanted = to_task_order(teacher.model.eval()(**batch).logits, teacher.label_permutation)
        torch.testing.assert_close(student.model.eval()(**batch).logits, wanted)


def test_fresh_head_leaves_the_students_head_random_and_the_report_says_how_it_started(
    sst2_teacher: Path, tiny_glue: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from distilcli.distill import task_guide

    heads = []
    copy = task_guide.copy_head

    def spy(teacher_model, student, permutation=None, **kwargs):  # the classifier as it starts: the teacher's or not
        copied = copy(teacher_model, student, permutation, **kwargs)
        heads.append((student.model.classifier.weight.detach().clone(), teacher_model.classifier.weight.detach()))
        return copied

    monkeypatch.setattr(task_guide, "copy_head", spy)
    default = run_distill(_cfg(sst2_teacher, tiny_glue, tmp_path / "copied", max_steps=1))
    assert default.body["student_head"].startswith("the teacher's (") and torch.equal(*heads[0])
    fresh = run_distill(_cfg(sst2_teacher, tiny_glue, tmp_path / "fresh", max_steps=1, fresh_head=True))
    assert fresh.body["student_head"] == "fresh" and len(heads) == 1  # never copied
    assert fresh.config["fresh_head"] is True
    with pytest.raises(BadInput, match="^--fresh-head is an option of task distillation"):
        run_distill(DistillConfig(teacher=str(sst2_teacher), out=tmp_path / "general", corpus=str(tiny_glue), fresh_head=True))
    assert not (tmp_path / "general").exists()


def test_a_fresh_regression_head_starts_at_the_mean_score_as_in_fine_tuning(
    tiny_encoders: dict[str, Path], tiny_glue: Path, tmp_path: Path
) -> None:
    from distilcli.finetune.config import FinetuneConfig
    from distilcli.finetune.engine import run_finetune

    teacher = tmp_path / "stsb-teacher"
    run_finetune(FinetuneConfig(model=str(tiny_encoders["bert"]), task="stsb", out=teacher, glue_dir=tiny_glue,
                                batch_size=8, lr=1e-3, max_steps=2))  # fmt: skip
    copied = run_distill(_cfg(teacher, tiny_glue, tmp_path / "copied", task="stsb", max_steps=1))
    # With new inputs (no gold score) among the training examples: the mean is the gold examples' only.
    fresh = run_distill(_cfg(teacher, tiny_glue, tmp_path / "fresh", task="stsb", max_steps=1, fresh_head=True, augment=2))
    assert copied.body["runs"][0]["head_init"] is None  # the teacher's head is kept as it is
    scores = [float(row.split("\t")[-1]) for row in (tiny_glue / "STS-B" / "train.tsv").read_text().splitlines()[1:]]
    assert fresh.body["runs"][0]["head_init"] == f"regression head bias set to the mean training label {sum(scores) / len(scores):.4f}"


# -- SQuAD: start and end logits ------------------------------------------------------------------


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
    parts = SpanKDLoss(alpha_ce=0.5, alpha_task=0.5, temperature=T)(
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

    report = run_distill(_squad_cfg(squad_teacher, tiny_squad, tmp_path / "student"))
    assert report.command == "distill" and report.primary_metric == "f1"
    assert {"exact_match", "f1", "teacher_f1", "teacher_exact_match", "student_parameters_total", "teacher_parameters_total"} <= set(report.metrics)
    # The teacher's 12 steps on the tiny set score above 0, so retention is defined and checked.
    assert report.metrics["teacher_f1"] > 0, report.metrics
    assert report.metrics["retention"] == pytest.approx(report.metrics["f1"] / report.metrics["teacher_f1"])
    assert report.metrics["student_parameters_total"] < report.metrics["teacher_parameters_total"]
    model = AutoModelForQuestionAnswering.from_pretrained(tmp_path / "student")
    assert model.config.num_hidden_layers == 2
    assert report.config["max_seq_length"] == 64 and report.body["layer_map"] == [0, 2]


def test_squad_defaults_and_errors(squad_teacher: Path, tiny_squad: Path, tiny_encoders: dict[str, Path], tmp_path: Path) -> None:
    from distilcli.distill.config import with_mode_defaults

    assert with_mode_defaults(DistillConfig(teacher="t", out=tmp_path, task="squad")).max_seq_length == 384
    assert with_mode_defaults(DistillConfig(teacher="t", out=tmp_path, task="glue:sst2")).max_seq_length == 128
    with pytest.raises(BadInput, match="no trained question-answering head"):
        run_distill(_squad_cfg(tiny_encoders["bert"], tiny_squad, tmp_path / "a"))
    with pytest.raises(BadInput, match="or squad, squad_v2, embeddings"):
        run_distill(_squad_cfg(squad_teacher, tiny_squad, tmp_path / "b", task="squad:v3"))
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


@pytest.mark.parametrize("spelling", ["sst2", "glue:sst2", "SST-2", "GLUE:sst_2"])
def test_one_task_syntax_for_distill_and_finetune(spelling: str) -> None:
    from distilcli.distill.config import parse_task
    from distilcli.tasks.registry import get_task

    assert parse_task(spelling) == "sst2"
    assert get_task(spelling).spec.name == "sst2"  # what finetune asks
    assert parse_task("squad_v2") == "squad_v2" and parse_task("embeddings") == "embeddings"
