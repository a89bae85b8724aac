"""The teacher and the student of general distillation: loaded, the teacher's MLM head fitted, the student built.

Phases of :func:`distilcli.distill.general.run_general`, before any training step: what they read
and check decides whether the run can train at all, so their refusals come before the corpus work.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import torch

from distilcli.distill.layer_choice import choose_from_ids, is_auto
from distilcli.distill.modules import DistillationStudent
from distilcli.distill.objective import DistillationObjective, mask_seed
from distilcli.distill.run_parts import HEAD_DIR, HEAD_FILE, Batch, Corpus, Student, load_head, save_head
from distilcli.distill.sentence_student import sentence_objective
from distilcli.errors import BadInput
from distilcli.models.student import choose_layer_map, parse_layer_map

if TYPE_CHECKING:  # pragma: no cover
    from accelerate import Accelerator

    from distilcli.distill.config import DistillConfig
    from distilcli.distill.sentence_student import TeacherSample
    from distilcli.models.loading import LoadedModel


def load_teacher(
    cfg: DistillConfig,
    accelerator: Accelerator,
    eager: dict[str, str],
    log: Callable[[str], None],
    objective: DistillationObjective,
) -> tuple[LoadedModel, Any]:
    """The teacher and its tokenizer, and the MLM-head question, before any data work."""
    from distilcli.models.loading import load_mlm_model, load_tokenizer
    from distilcli.models.resolve import resolve_model

    teacher = load_mlm_model(resolve_model(cfg.teacher), **eager)
    head_missing = not teacher.has_trained_mlm_head
    if (
        head_missing
        and (cfg.alpha_ce > 0 or cfg.alpha_mlm > 0 or cfg.alpha_mse > 0)
        and cfg.fit_teacher_head == 0
        and not cfg.resume
    ):
        raise BadInput(
            f"teacher {cfg.teacher} has no trained MLM head, which the soft-target and MLM losses need: "
            "pass --fit-teacher-head N to fit one first (e.g. 300), or distill without them: --alpha-ce 0 --alpha-mlm 0"
        )
    if head_missing and (cfg.fit_teacher_head or objective.needs_vocab_logits):  # else no loss reads the head
        log(
            f"note: teacher {cfg.teacher} has no trained MLM head"
            + (f"; fitting one for {cfg.fit_teacher_head} steps" if cfg.fit_teacher_head else "")
        )
    tokenizer = load_tokenizer(teacher.ref)
    if tokenizer is None or tokenizer.mask_token_id is None or tokenizer.pad_token_id is None:
        raise BadInput(
            f"teacher {cfg.teacher} has no tokenizer with mask and pad tokens: add its tokenizer files to the folder"
        )
    teacher.model.to(accelerator.device)
    return teacher, tokenizer


def teacher_head(
    cfg: DistillConfig, teacher: LoadedModel, corpus: Corpus, accelerator: Accelerator, log: Callable[[str], None]
) -> dict[str, Any] | None:
    """Fit the teacher's MLM head (or reload the one fitted by the run being resumed); freeze the teacher."""
    from accelerate.utils import broadcast

    from distilcli.distill.head import fit_mlm_head, head_parameters

    head_dir = cfg.out / HEAD_DIR
    head_fit: dict[str, Any] | None = None
    if cfg.resume and (head_dir / HEAD_FILE).is_file():
        params = head_parameters(teacher)
        saved_head, head_fit = load_head(head_dir / HEAD_FILE, {name: p.shape for name, p in params.items()})
        with torch.no_grad():
            for name, tensor in saved_head.items():
                params[name].copy_(tensor)
    elif cfg.fit_teacher_head:
        batches, rank = corpus.batches, accelerator.process_index
        ids = corpus.heldout_ids
        heldout = [
            corpus.masked(batches.collate([{"input_ids": x} for x in ids[i : i + 32]]), mask_seed(cfg.seed, 7, i))
            for i in range(0, len(ids), 32)
        ]

        def head_batches() -> Iterator[Batch]:
            for n, step_batches in enumerate(batches.steps(0)):
                for k, indices in enumerate(step_batches):
                    yield corpus.masked(batches.tensors(indices), mask_seed(cfg.seed, 5, n, k, rank))

        fit = fit_mlm_head(teacher, head_batches, heldout, cfg.fit_teacher_head, cfg.head_lr)
        params = head_parameters(teacher)
        with torch.no_grad():  # every process continues with rank 0's head
            for param in params.values():
                param.copy_(broadcast(param.detach().clone()))
        head_fit = {**fit.__dict__, "heldout_chunks": len(ids)}
        if accelerator.is_main_process:
            save_head(head_dir, {name: p.detach() for name, p in params.items()}, head_fit, cfg.teacher)
        log(
            f"teacher head fitted: held-out masked-token accuracy {fit.accuracy_before:.1%} → {fit.accuracy_after:.1%} "
            f"(loss {fit.loss_first:.2f} → {fit.loss_last:.2f})"
        )
    teacher.model.eval()
    for param in teacher.model.parameters():
        param.requires_grad_(False)
    return head_fit


def build_student_model(
    cfg: DistillConfig,
    teacher: LoadedModel,
    eager: dict[str, str],
    corpus: Corpus,
    log: Callable[[str], None],
    sample: TeacherSample | None,
    objective: DistillationObjective,
) -> Student:
    """The student: made from the (fitted) teacher, or an existing model.

    With --layer-map auto, the teacher's layers are chosen by CKA.

    The run's ``objective`` is fitted to it (the two widths and poolings) and becomes the student's.
    """
    from distilcli.models.adapters import adapter_for
    from distilcli.models.loading import load_mlm_model
    from distilcli.models.resolve import resolve_model
    from distilcli.models.student import build_student

    teacher_layers = teacher.adapter.num_layers(teacher.config)
    layer_choice, student_path = None, None
    if cfg.student:
        student_loaded = load_mlm_model(resolve_model(cfg.student), **eager)
        student_model, s_adapter, student_path = student_loaded.model, student_loaded.adapter, student_loaded.ref.path
        n = s_adapter.num_layers(student_model.config)
        layer_map = parse_layer_map(cfg.layer_map) or choose_layer_map(teacher_layers, n)
        if len(layer_map) != n:
            raise BadInput(f"--layer-map has {len(layer_map)} layers but the student has {n}")
        if corpus.student_rows is None and student_model.config.vocab_size != teacher.config.vocab_size:
            raise BadInput("student and teacher vocabularies differ: they must share the tokenizer")
    elif is_auto(cfg.layer_map):
        n = cfg.layers or max(1, teacher_layers // 2)
        choice = choose_from_ids(teacher.model.base_model, corpus.train_ids, corpus.pad_id, n, seed=cfg.seed)
        layer_choice, layer_map = choice.to_dict(), choice.layer_map
        log(
            f"--layer-map auto: {','.join(map(str, layer_map))} (CKA coverage {choice.coverage:.3f}; "
            f"evenly spread {','.join(map(str, choice.uniform_map))}: {choice.uniform_coverage:.3f})"
        )
    else:
        layer_map = choose_layer_map(teacher_layers, cfg.layers, parse_layer_map(cfg.layer_map))
    if not cfg.student:
        student_model = build_student(teacher, layer_map, cfg.arch)
        s_adapter = adapter_for(student_model.config)
        if eager:
            student_model.set_attn_implementation("eager")
    # The teacher's embedding (its sentence-transformers pooling, else mean), the student's own pooling or the same.
    sentence_files = sentence_objective(
        cfg, objective, teacher, student_model, s_adapter, student_path, corpus, sample, log
    )
    student = DistillationStudent(student_model, s_adapter, objective)
    student.train()
    return Student(student, s_adapter, layer_map, objective, layer_choice, sentence_files)
