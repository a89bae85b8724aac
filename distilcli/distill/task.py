"""Task-specific distillation (``distil distill --task glue:<name>|squad|squad_v2``), DistilBERT's "(D)" step.

A teacher already fine-tuned on the task teaches a student on the task's training data:
``alpha_ce · KL(teacher/T ‖ student/T) · T²`` on the task logits (MSE for STS-B's scores; on
SQuAD the mean of the start and end KLs) plus ``alpha_task`` times the task loss against the
gold labels. The loop, evaluation, best checkpoint, early stopping and resume are the
fine-tuning engine's.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from distilcli import __version__, progress
from distilcli.config import config_to_dict
from distilcli.tasks.squad.data import SquadTask
from distilcli.distill.config import DistillConfig
from distilcli.errors import BadInput
from distilcli.reports import Report

INIT_DIR = "student-init"


def parse_task(spec: str) -> str:
    """``glue:sst2`` -> ``sst2``; ``squad`` / ``squad_v2`` as they are; anything else is :class:`BadInput`."""
    from distilcli.tasks.squad.data import squad_task

    squad = squad_task(spec.strip())
    if squad is not None:
        return squad.name
    kind, sep, name = spec.partition(":")
    if kind.strip().lower() != "glue" or not sep or not name.strip():
        raise BadInput(f"--task {spec!r}: expected glue:<name> (e.g. glue:sst2 or glue:mnli), squad or squad_v2")
    return name.strip()


def _finetune_config(cfg: DistillConfig, task: str, model: str) -> Any:
    """The task run's config: every training and task option of ``cfg`` (all of TaskOptions, none dropped)."""
    from dataclasses import fields

    from distilcli.finetune.config import FinetuneConfig
    from distilcli.training.options import TaskOptions

    shared = {f.name: getattr(cfg, f.name) for f in fields(TaskOptions)}
    return FinetuneConfig(model=model, task=task, **shared)


def copy_head(teacher_model: Any, student: Any) -> list[str]:
    """Start the student's fresh head (pooler, classifier) from the teacher's where names and shapes match."""
    import torch

    teacher_state = teacher_model.state_dict()
    student_state = student.model.state_dict()
    copied = [k for k in student.missing_keys if k in teacher_state and teacher_state[k].shape == student_state[k].shape]
    with torch.no_grad():
        for key in copied:
            student_state[key].copy_(teacher_state[key])
    return copied


def _backbone_parameters(model: Any) -> int:
    return sum(p.numel() for p in model.base_model.parameters())


def run_task_distill(cfg: DistillConfig, on_step: Any = None) -> Report:
    """Distill a task-fine-tuned teacher into a student on that task; return a ``distill`` report."""
    import shutil

    import torch
    from accelerate import PartialState

    from distilcli.training.saving import save_student
    from distilcli.distill.config import RESUMABLE_CHANGES
    from distilcli.tasks.glue.metrics import retention
    from distilcli.finetune.engine import TaskTeacher, build_report, check_model_outside, check_run_config, prepare, record_run_config, run_single
    from distilcli.training.runtime import is_main_process
    from distilcli.tasks.jobs import job_for
    from distilcli.models.loading import load_mlm_model
    from distilcli.models.resolve import resolve_model
    from distilcli.models.student import build_student, choose_layer_map, parse_layer_map

    start = time.perf_counter()
    task_name = parse_task(cfg.task or "")
    for name in ("alpha_ce", "alpha_task"):
        if getattr(cfg, name) < 0:
            raise BadInput(f"--{name.replace('_', '-')} must be >= 0, got {getattr(cfg, name)}")
    if cfg.alpha_ce + cfg.alpha_task <= 0:
        raise BadInput("--alpha-ce and --alpha-task are both 0: nothing to learn from")
    if cfg.temperature <= 0:
        raise BadInput(f"--temperature must be > 0, got {cfg.temperature}")
    if cfg.student and (cfg.layers or cfg.layer_map or cfg.arch):
        raise BadInput("--student is an existing model: leave out --layers, --layer-map and --arch")
    parse_layer_map(cfg.layer_map)
    init_dir = Path(cfg.out) / INIT_DIR
    ft = _finetune_config(cfg, task_name, cfg.student or str(init_dir))
    data = prepare(ft, check_model=False)  # every data and option check, before any weight is read
    task = data.task
    job = job_for(task)
    check_model_outside(cfg.teacher, Path(cfg.out), "--teacher")
    if isinstance(task, SquadTask):
        # SQuAD windows fill --max-seq-length; GLUE sentences are truncated there but rarely reach it.
        from distilcli.tasks.squad.head import check_fits
        from distilcli.models.loading import load_config

        check_fits(cfg.teacher, load_config(resolve_model(cfg.teacher)), ft.max_seq_length)
    if cfg.student:
        check_model_outside(cfg.student, Path(cfg.out), "--student")
    if cfg.resume:
        check_run_config(cfg.out, cfg, RESUMABLE_CHANGES)

    # The teacher must already be fine-tuned on this task (a trained head with the task's labels).
    teacher = job.load(resolve_model(cfg.teacher), for_training=False)
    teacher_layers = teacher.adapter.num_layers(teacher.model.config)
    layer_map: list[int] | None = None
    if cfg.student:
        student_config = resolve_model(cfg.student)
        from distilcli.models.loading import load_config

        if load_config(student_config).vocab_size != teacher.model.config.vocab_size:
            raise BadInput("student and teacher vocabularies differ: they must share the tokenizer")
    elif cfg.resume and (init_dir / "config.json").is_file():
        layer_map = load_mlm_model(resolve_model(str(init_dir))).config.distilcli["layer_map"]
    else:
        layer_map = choose_layer_map(teacher_layers, cfg.layers, parse_layer_map(cfg.layer_map))
    # Every process has checked every input (--out included) before rank 0 touches --out.
    PartialState(cpu=not torch.cuda.is_available()).wait_for_everyone()
    if not cfg.resume and is_main_process():
        # Every input is checked: only now may --overwrite remove the old run.
        if cfg.overwrite and Path(cfg.out).exists():
            shutil.rmtree(cfg.out)
        record_run_config(cfg.out, cfg)
    if layer_map is not None and not (cfg.resume and (init_dir / "config.json").is_file()):
        # Rank 0 writes the initial student; the other processes wait, then read it.
        with PartialState(cpu=not torch.cuda.is_available()).main_process_first():
            if is_main_process():
                encoder = load_mlm_model(teacher.ref)
                student = build_student(encoder, layer_map, cfg.arch)
                student.config.distilcli = {
                    "created_by": "distil distill --task", "distilcli_version": __version__, "teacher": cfg.teacher,
                    "teacher_model_type": teacher.model.config.model_type, "teacher_num_layers": teacher_layers,
                    "layer_map": layer_map, "mlm_head_trained": False,
                }  # fmt: skip
                save_student(init_dir, student, teacher.tokenizer, f"# Student initialised from {cfg.teacher}\n")
    if layer_map is not None:
        progress.log(f"student: layers {','.join(map(str, layer_map))} of the teacher's {teacher_layers}")

    def init_student(student: Any) -> None:
        copied = copy_head(teacher.model, student)
        if copied:
            progress.log(f"student head started from the teacher's ({len(copied)} tensors)")

    distiller = TaskTeacher(
        model=teacher.model, alpha_ce=cfg.alpha_ce, alpha_task=cfg.alpha_task, temperature=cfg.temperature,
        permutation=teacher.label_permutation, cache=cfg.cache_teacher, init_student=init_student,
    )  # fmt: skip
    result = run_single(ft, data, on_step, teacher=distiller)

    # The teacher's own dev score, for retention (of the primary metric: SQuAD's F1, GLUE's task score).
    device = next(teacher.model.parameters()).device
    teacher_metrics = job.evaluator(teacher, data.dev, ft)(teacher.model, device)
    base = build_report(ft, data, [result], time.perf_counter() - start)
    student_model = job.load(resolve_model(str(cfg.out)), for_training=False).model
    metrics = dict(base.metrics)
    metrics.update({f"teacher_{k}": v for k, v in teacher_metrics.items()})
    kept = "score" if "score" in teacher_metrics else task.primary_metric
    if teacher_metrics[kept] != 0:
        metrics["retention"] = retention(metrics[kept], teacher_metrics[kept])
    metrics["student_parameters_total"] = _backbone_parameters(student_model)
    metrics["teacher_parameters_total"] = _backbone_parameters(teacher.model)
    body = {
        **base.body,
        "mode": "task",
        "teacher": cfg.teacher,
        "teacher_path": str(teacher.ref.path),
        "teacher_dev_metrics": teacher_metrics,
        "layer_map": layer_map,
        "student": cfg.student,
        "alphas": {"ce": cfg.alpha_ce, "task": cfg.alpha_task},
        "temperature": cfg.temperature,
        "cache_teacher": cfg.cache_teacher,
    }
    return Report.create(
        "distill",
        config=config_to_dict(cfg),
        metrics=metrics,
        primary_metric=task.primary_metric,
        artifacts={"student": str(cfg.out), "checkpoints": str(Path(cfg.out) / "checkpoints")},
        body=body,
        duration_s=time.perf_counter() - start,
    )
