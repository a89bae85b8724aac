"""Task-specific distillation (``distil distill --task glue:<name>|squad|squad_v2``), DistilBERT's "(D)" step.

A teacher already fine-tuned on the task teaches a student on the task's training data:
``alpha_ce · KL(teacher/T ‖ student/T) · T²`` on the task logits (MSE for STS-B's scores; on
SQuAD the mean of the start and end KLs) plus ``alpha_task`` times the task loss against the
gold labels (:class:`~distilcli.distill.task_kd.TaskKDLoss`, :class:`~distilcli.distill.task_kd.SpanKDLoss`).
The run on the task (steps, evaluation, best checkpoint, early stopping, resume) is the shared
:func:`~distilcli.training.task_run.run_task_training`, with every training option of the
command. The phases: check the options and read the data, load the teacher and plan the
student, prepare ``--out`` and the initial student, train, report.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from distilcli import __version__, progress
from distilcli.config import config_to_dict
from distilcli.distill.augmentation import NewInput, prepare_new_inputs
from distilcli.distill.augmentation import check_options as check_augment_options
from distilcli.distill.config import RESUMABLE_CHANGES, DistillConfig, parse_task
from distilcli.distill.task_guide import TaskDistiller, layer_pairs_for
from distilcli.errors import BadInput
from distilcli.models.loading import fitting_length
from distilcli.reports import Report
from distilcli.rundir import RunFolder, run_inputs
from distilcli.tasks.heads import LoadedClassifier
from distilcli.tasks.registry import TaskEntry, get_task
from distilcli.training.options import check_task_options, parse_select_on
from distilcli.training.run_files import check_model_outside, start_run
from distilcli.training.runtime import check_at_least, check_positive
from distilcli.training.seeds import parse_seeds, run_seed
from distilcli.training.selection import hold_out
from distilcli.training.task_protocols import TaskData
from distilcli.training.task_run import run_task_training
from distilcli.training.task_summary import summarise

INIT_DIR = "student-init"
#: The command named in the run folder's marker (a --resume must be one of its runs).
COMMAND = "distill --task"


def run_task_distill(
    cfg: DistillConfig, on_step: Callable[[int], None] | None = None, *, explicit_length: bool = True
) -> Report:
    """Distill a task-fine-tuned teacher into a student on that task; return a ``distill`` report.

    Without ``explicit_length`` (no --max-seq-length), the task's default length is cut to the models' positions.
    """
    start = time.perf_counter()
    entry, data = check_and_read(cfg, explicit_length)
    seeds = parse_seeds(cfg.seeds)
    with RunFolder.of(cfg, COMMAND).claim():  # taken once every input has passed its checks, before any weight is read
        teacher, layer_map = load_teacher(cfg, entry)
        start_run_dir(cfg, teacher, layer_map)
        pairs = layer_pairs_for(cfg, teacher, layer_map)
        student = cfg.student or str(Path(cfg.out) / INIT_DIR)

        def train(run_cfg: DistillConfig) -> dict[str, Any]:
            return train_one(run_cfg, entry, data, teacher, pairs, student, on_step)

        if seeds is None:
            results = [train(cfg)]
        else:
            results = [run_seed(cfg, seed, n, len(seeds), train) for n, seed in enumerate(seeds)]
        return report(cfg, entry, data, teacher, layer_map, results, start)


def train_one(
    cfg: DistillConfig,
    entry: TaskEntry,
    data: TaskData,
    teacher: LoadedClassifier,
    pairs: list[int],
    student: str,
    on_step: Callable[[int], None] | None,
) -> dict[str, Any]:
    """One seed's run: its new inputs (made, or read back on --resume), then the guided training in ``cfg.out``."""
    n_gold = len(data.train_examples)
    started = time.perf_counter()
    new_inputs = prepare_new_inputs(cfg, data.train_examples, teacher.model, teacher.tokenizer)
    made_s = time.perf_counter() - started
    # New inputs follow the gold examples and have no label: the guide knows them by their index.
    trained = replace(
        data, train_examples=data.train_examples + [as_example(x, n_gold + i) for i, x in enumerate(new_inputs)]
    )
    counts = {
        "gold": n_gold,
        "augmented": sum(x.source == "augment" for x in new_inputs),
        "transfer": sum(x.source == "transfer" for x in new_inputs),
    }
    guide = TaskDistiller(cfg, entry, teacher, pairs, n_gold, counts, round(made_s, 2) if new_inputs else None)
    return run_task_training(
        entry, trained, cfg, model=student, resumable=RESUMABLE_CHANGES, on_step=on_step, guide=guide
    )


def as_example(new: NewInput, index: int) -> Any:
    """A new input as a training example of the task: its text, and no label (the teacher gives it one)."""
    from distilcli.tasks.glue.spec import GlueExample

    return GlueExample(index=index, text_a=new.text_a, text_b=new.text_b, label=None, raw_label=None)


# -- phases ------------------------------------------------------------------------------------------


def check_and_read(cfg: DistillConfig, explicit_length: bool = True) -> tuple[TaskEntry, TaskData]:
    """Every option and data check, before any weight is read; the task's data (``cfg.max_seq_length`` may be cut)."""
    entry = check_options(cfg)
    run = RunFolder.of(cfg, COMMAND)
    run.check(run_inputs(cfg))
    for name in ("alpha_ce", "alpha_task"):
        check_at_least(name, getattr(cfg, name), 0)
    if cfg.alpha_ce + cfg.alpha_task <= 0:
        raise BadInput("--alpha-ce and --alpha-task are both 0: nothing to learn from")
    check_positive("temperature", cfg.temperature)
    data = hold_out(entry.load_data(cfg), parse_select_on(cfg.select_on))
    check_model_outside(cfg.teacher, Path(cfg.out), "--teacher")
    if cfg.student:
        check_model_outside(cfg.student, Path(cfg.out), "--student")
    assert cfg.max_seq_length is not None
    for spec in (cfg.teacher, cfg.student):
        if spec and explicit_length:
            entry.check_model(spec, cfg.max_seq_length)
        elif spec:  # the default length, cut to the models' positions
            cfg.max_seq_length = fitting_length(spec, cfg.max_seq_length)
    run.check_options(cfg, RESUMABLE_CHANGES)
    return entry, data


def check_options(cfg: DistillConfig) -> TaskEntry:
    """The options of task distillation alone (no model, no task data).

    The command and the pipeline's pre-flight call it.

    Returns the task's registry entry. A transfer corpus is checked as ``--corpus`` is (its head read).
    """
    from distilcli.distill.layer_choice import is_auto
    from distilcli.models.student import parse_layer_map

    task_name = parse_task(cfg.task or "")
    for name in ("alpha_ce", "alpha_task"):
        check_at_least(name, getattr(cfg, name), 0)
    if cfg.alpha_ce + cfg.alpha_task <= 0:
        raise BadInput("--alpha-ce and --alpha-task are both 0: nothing to learn from")
    check_positive("temperature", cfg.temperature)
    if cfg.student and (cfg.layers or cfg.layer_map or cfg.arch):
        raise BadInput("--student is an existing model: leave out --layers, --layer-map and --arch")
    if is_auto(cfg.layer_map):
        raise BadInput(
            "--layer-map auto measures the teacher on a corpus, which task distillation does not read: run "
            "distil models suggest-layers TEACHER --corpus C and pass the map it prints"
        )
    parse_layer_map(cfg.layer_map)
    if cfg.stream:
        raise BadInput(
            "--stream reads a corpus as the run trains: task distillation reads the task's data; leave it out"
        )
    if cfg.embedding_dim is not None or cfg.query_passage:
        flag = "--embedding-dim reduces" if cfg.embedding_dim is not None else "--query-passage makes pairs for"
        raise BadInput(f"{flag} sentence embeddings: use --task embeddings, or leave it out")
    sentence_terms = {
        "--alpha-pooled": cfg.alpha_pooled,
        "--alpha-mse-emb": cfg.alpha_mse_emb,
        "--alpha-sim": cfg.alpha_sim,
        "--alpha-rank": cfg.alpha_rank,
    }
    if any(sentence_terms.values()):
        named = " and ".join(flag for flag, value in sentence_terms.items() if value)
        raise BadInput(
            f"{named} compare sentence embeddings, which task distillation does not train: "
            "use --task embeddings, or leave them out"
        )
    parse_seeds(cfg.seeds)
    check_task_options(cfg)
    check_intermediate_options(cfg)
    check_augment_options(cfg)
    entry = get_task(task_name)
    entry.check_options(cfg)
    if (cfg.augment or cfg.transfer_corpus) and entry.per_token_outputs:
        raise BadInput(
            "--augment and --transfer-corpus make new sentences for GLUE-style tasks,"
            f" not {entry.spec.display_name}: leave them out"
        )
    return entry


def check_intermediate_options(cfg: DistillConfig) -> None:
    """The intermediate losses and their schedule (task distillation)."""
    from distilcli.distill.losses import HIDDEN_KINDS

    for name in ("alpha_hidden", "alpha_attention", "alpha_pkd"):
        check_at_least(name, getattr(cfg, name), 0)
    if cfg.hidden_loss not in HIDDEN_KINDS:
        raise BadInput(f"--hidden-loss {cfg.hidden_loss!r}: use one of {', '.join(HIDDEN_KINDS)}")
    if cfg.intermediate_epochs < 0:
        raise BadInput(f"--intermediate-epochs {cfg.intermediate_epochs}: give 0 (every loss at once) or more epochs")
    if cfg.intermediate_epochs and cfg.alpha_hidden + cfg.alpha_attention + cfg.alpha_pkd <= 0:
        raise BadInput(
            "--intermediate-epochs trains the intermediate losses first:"
            " set --alpha-hidden, --alpha-attention or --alpha-pkd"
        )


def load_teacher(cfg: DistillConfig, entry: TaskEntry) -> tuple[LoadedClassifier, list[int] | None]:
    """The teacher, which must already be fine-tuned on the task, and the student's layers (None: --student)."""
    from distilcli.models.loading import load_config, load_mlm_model
    from distilcli.models.resolve import resolve_model
    from distilcli.models.student import choose_layer_map, parse_layer_map

    teacher = entry.load(resolve_model(cfg.teacher), for_training=False)
    init_dir = Path(cfg.out) / INIT_DIR
    if cfg.student:
        if load_config(resolve_model(cfg.student)).vocab_size != teacher.model.config.vocab_size:
            raise BadInput("student and teacher vocabularies differ: they must share the tokenizer")
        return teacher, None
    if cfg.resume and (init_dir / "config.json").is_file():
        return teacher, load_mlm_model(resolve_model(str(init_dir))).config.distilcli["layer_map"]
    return teacher, choose_layer_map(
        teacher.adapter.num_layers(teacher.model.config), cfg.layers, parse_layer_map(cfg.layer_map)
    )


def start_run_dir(cfg: DistillConfig, teacher: LoadedClassifier, layer_map: list[int] | None) -> None:
    """Clear an --overwrite run and record this one's options (main process); write the initial student."""
    from accelerate import PartialState

    from distilcli.models.card import render_model_card
    from distilcli.models.loading import load_mlm_model
    from distilcli.models.student import build_student
    from distilcli.training.runtime import is_main_process
    from distilcli.training.saving import save_student

    init_dir = Path(cfg.out) / INIT_DIR
    teacher_layers = teacher.adapter.num_layers(teacher.model.config)
    start_run(RunFolder.of(cfg, COMMAND), cfg)
    if layer_map is not None and not (cfg.resume and (init_dir / "config.json").is_file()):
        # Rank 0 writes the initial student; the other processes wait, then read it.
        with PartialState(cpu=not torch.cuda.is_available()).main_process_first():
            if is_main_process():
                student = build_student(load_mlm_model(teacher.ref), layer_map, cfg.arch)
                student.config.distilcli = {
                    "created_by": "distil distill --task",
                    "distilcli_version": __version__,
                    "teacher": cfg.teacher,
                    "teacher_model_type": teacher.model.config.model_type,
                    "teacher_num_layers": teacher_layers,
                    "layer_map": layer_map,
                    "mlm_head_trained": False,
                }
                card = render_model_card(
                    f"Student initialised from {cfg.teacher}",
                    "The starting point of a `distil distill --task` run: teacher layers copied in, not yet trained.",
                    [("layers (student←teacher)", ", ".join(f"{i}←{t}" for i, t in enumerate(layer_map)))],
                    ".",
                    ["student"],
                    base_model=cfg.teacher,
                )
                save_student(init_dir, student, teacher.tokenizer, card)
    if layer_map is not None:
        progress.log(f"student: layers {','.join(map(str, layer_map))} of the teacher's {teacher_layers}")


def report(
    cfg: DistillConfig,
    entry: TaskEntry,
    data: TaskData,
    teacher: LoadedClassifier,
    layer_map: list[int] | None,
    results: list[dict[str, Any]],
    start: float,
) -> Report:
    """The ``distill`` report: the student's dev metrics beside the teacher's (retention) and both sizes."""
    from distilcli.models.resolve import resolve_model
    from distilcli.tasks.glue.metrics import retention

    # The teacher's own dev score, for retention (of the primary metric: SQuAD's F1, GLUE's task score).
    device = next(teacher.model.parameters()).device
    teacher_metrics = entry.evaluator(teacher, data.dev, cfg)(teacher.model, device)
    summary = summarise(data, results, cfg.train_limit)
    model_dir = summary.artifacts["model"]  # the median seed's (out itself without --seeds)
    student_model = entry.load(resolve_model(model_dir), for_training=False).model
    metrics = dict(summary.metrics)
    metrics.update({f"teacher_{k}": v for k, v in teacher_metrics.items()})
    kept = "score" if "score" in teacher_metrics else entry.spec.primary_metric
    if teacher_metrics[kept] != 0:
        metrics["retention"] = retention(metrics[kept], teacher_metrics[kept])
    metrics["student_parameters_total"] = _backbone_parameters(student_model)
    metrics["teacher_parameters_total"] = _backbone_parameters(teacher.model)
    body = {
        **summary.body,
        "mode": "task",
        "teacher": cfg.teacher,
        "teacher_path": str(teacher.ref.path),
        "teacher_dev_metrics": teacher_metrics,
        "layer_map": layer_map,
        "student": cfg.student,
        "alphas": {"ce": cfg.alpha_ce, "task": cfg.alpha_task},
        "augmentation": None
        if not cfg.augment
        else {
            "count": cfg.augment,
            "mask": cfg.augment_mask,
            "replace": cfg.augment_replace,
            "delete": cfg.augment_delete,
            "ngram": cfg.augment_ngram,
            "candidates": cfg.augment_mlm or "teacher input embeddings",
        },
        "temperature": cfg.temperature,
        "cache_teacher": cfg.cache_teacher,
        # What the teacher's side ran, as the median seed's run recorded it.
        **next(r.get("guide", {}) for r in results if r["out"] == model_dir),
    }
    return Report.create(
        "distill",
        config=config_to_dict(cfg),
        metrics=metrics,
        primary_metric=entry.spec.primary_metric,
        artifacts={"student": model_dir, "model": model_dir, "checkpoints": str(Path(model_dir) / "checkpoints")},
        body=body,
        duration_s=time.perf_counter() - start,
    )


def _backbone_parameters(model: Any) -> int:
    return sum(p.numel() for p in model.base_model.parameters())
