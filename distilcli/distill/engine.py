"""``run_distill``: the entry point of ``distil distill``, general or task-specific (``--task``).

General distillation (the DistilBERT triple loss on a corpus) is :mod:`distilcli.distill.general`;
task-specific distillation (a task-fine-tuned teacher, the task's data) is :mod:`distilcli.distill.task`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from distilcli.distill.config import DistillConfig, mode_of, with_mode_defaults
from distilcli.distill.objective import make_objective
from distilcli.distill.run_parts import run_folder
from distilcli.distill.sentence_checks import (
    check_embedding_dim,
    check_embedding_option,
    check_query_passage,
    check_student_tokenizer,
)
from distilcli.errors import BadInput
from distilcli.reports import Report
from distilcli.training.options import check_train_options
from distilcli.training.runtime import check_at_least, check_positive


def run_distill(cfg: DistillConfig, on_step: Callable[[int], None] | None = None) -> Report:
    """Distill ``cfg.teacher`` into a student saved in ``cfg.out``; return the report.

    ``on_step(step)`` is called after every optimizer step (tests use it to interrupt a run).
    """
    explicit_length = cfg.max_seq_length is not None
    cfg = with_mode_defaults(replace(cfg, out=Path(cfg.out)))
    if mode_of(cfg) == "task":
        from distilcli.distill.task import run_task_distill

        return run_task_distill(cfg, on_step, explicit_length=explicit_length)
    cfg = validate(cfg, explicit_length)
    from distilcli.distill.general import run_general

    with run_folder(cfg).claim():  # taken once every input has passed its checks, before any weight is read
        return run_general(cfg, on_step)


def check_options(cfg: DistillConfig) -> None:
    """The options of general (and embedding) distillation alone: no file, folder or model is read.

    The command (through :func:`validate`) and the pipeline's pre-flight both call it, so a recipe's bad
    option fails ``pipeline --dry-run`` exactly as it would fail the stage.
    """
    from distilcli.data.corpus import DOCUMENT_PER
    from distilcli.distill.layer_choice import is_auto
    from distilcli.distill.teacher_cache import check_cacheable
    from distilcli.models.student import parse_layer_map

    for name in ("batch_size", "grad_accum", "epochs", "save_every", "log_every", "max_seq_length", "lr"):
        check_positive(name, getattr(cfg, name))
    check_positive("max_steps", cfg.max_steps, allow_none=True)
    check_positive("num_proc", cfg.num_proc)
    if cfg.stream and not cfg.max_steps:
        raise BadInput("--stream reads the corpus as the run trains, so a run has no epochs: give --max-steps N")
    if cfg.stream and cfg.cache_teacher:
        raise BadInput("--stream keeps no sequence to reuse, so --cache-teacher has nothing to cache: leave one out")
    if cfg.max_seq_length is not None and cfg.max_seq_length < 8:
        raise BadInput(f"--max-seq-length {cfg.max_seq_length} is too short: use at least 8")
    check_train_options(cfg)
    task_only = [
        flag
        for flag, on in (
            ("--augment", cfg.augment),
            ("--transfer-corpus", cfg.transfer_corpus),
            ("--augment-mlm", cfg.augment_mlm),
            ("--alpha-pkd", cfg.alpha_pkd),
            ("--intermediate-epochs", cfg.intermediate_epochs),
            ("--fresh-head", cfg.fresh_head),
        )
        if on
    ]
    if task_only:
        raise BadInput(
            f"{task_only[0]} is an option of task distillation: add --task glue:<name>"
            " (with a teacher fine-tuned on it), or leave it out"
        )
    check_embedding_option(cfg)
    check_query_passage(cfg)
    if cfg.fit_teacher_head < 0:
        raise BadInput(f"--fit-teacher-head must be >= 0 steps, got {cfg.fit_teacher_head}")
    check_positive("head_lr", cfg.head_lr)
    check_at_least("heldout_chunks", cfg.heldout_chunks, 0)
    check_at_least("min_tokens", cfg.min_tokens, 1)
    if cfg.max_seq_length is not None and cfg.min_tokens > cfg.max_seq_length:
        raise BadInput(
            f"--min-tokens {cfg.min_tokens} is above --max-seq-length {cfg.max_seq_length}, so every text would be "
            "dropped: lower --min-tokens or raise --max-seq-length"
        )
    check_at_least("mlm_smoothing", cfg.mlm_smoothing, 0)
    if not 0 < cfg.mlm_probability < 1:
        raise BadInput(f"--mlm-probability must be between 0 and 1, got {cfg.mlm_probability}")
    if cfg.document_per not in DOCUMENT_PER:
        raise BadInput(
            f"--document-per must be {', '.join(DOCUMENT_PER[:-1])} or {DOCUMENT_PER[-1]}, got {cfg.document_per!r}"
        )
    objective = make_objective(cfg)
    if cfg.cache_teacher:
        check_cacheable(objective, bool(cfg.mask_inputs))
    if cfg.mask_inputs is False and cfg.alpha_mlm > 0:
        raise BadInput(
            "--no-mask-inputs leaves L_mlm no masked token to predict: pass --alpha-mlm 0 too, or --mask-inputs"
        )
    if is_auto(cfg.layer_map):
        if cfg.student:
            raise BadInput(
                "--layer-map auto chooses the layers of a new student: with --student, give the map it was made with"
            )
    else:
        parse_layer_map(cfg.layer_map)
    if not cfg.corpus:
        raise BadInput(
            "missing required option --corpus (general and --task embeddings distillation),"
            " or pass --task glue:<name> for task-specific distillation"
        )


def validate(cfg: DistillConfig, explicit_length: bool = True) -> DistillConfig:
    """Every check of general distillation that needs no weights.

    The options, the folder, the corpus, the models' configs.

    Returns ``cfg``, its default --max-seq-length (unless ``explicit_length``) cut to the models' positions.
    """
    from distilcli.data.corpus import CorpusSpec, check_corpus
    from distilcli.models.loading import check_positions, fitting_length, load_config
    from distilcli.models.resolve import resolve_model
    from distilcli.rundir import run_inputs

    check_options(cfg)
    assert cfg.corpus is not None
    run_folder(cfg).check(run_inputs(cfg))
    check_corpus(CorpusSpec(cfg.corpus, cfg.text_field, cfg.document_per))
    assert cfg.max_seq_length is not None  # filled in by with_mode_defaults
    # A chunk of --max-seq-length tokens must fit the positions of both models (checked from their configs).
    for spec in (cfg.teacher, cfg.student):
        if spec and explicit_length:
            check_positions(spec, load_config(resolve_model(str(spec))), cfg.max_seq_length)
        elif spec:
            cfg = replace(cfg, max_seq_length=fitting_length(str(spec), cfg.max_seq_length))
    if cfg.student:
        check_student_config(cfg)
    check_embedding_dim(cfg)
    return cfg


def check_student_config(cfg: DistillConfig) -> None:
    """An existing --student fits the teacher and --layer-map: read from the config files, before any weight."""
    from distilcli.models.adapters import adapter_for
    from distilcli.models.loading import load_config
    from distilcli.models.resolve import resolve_model
    from distilcli.models.student import parse_layer_map

    student, teacher = (load_config(resolve_model(str(spec))) for spec in (cfg.student, cfg.teacher))
    # A student with a tokenizer of its own reads its own ids (--task embeddings); else the teacher's ids must fit it.
    if not check_student_tokenizer(cfg) and student.vocab_size != teacher.vocab_size:
        raise BadInput("student and teacher vocabularies differ: they must share the tokenizer")
    layer_map = parse_layer_map(cfg.layer_map)
    n = adapter_for(student).num_layers(student)
    if layer_map is not None and len(layer_map) != n:
        raise BadInput(f"--layer-map has {len(layer_map)} layers but the student has {n}")
