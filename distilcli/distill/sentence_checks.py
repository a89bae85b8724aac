"""The checks of a sentence-embedding distillation's options, made from the configs and tokenizer files before any
weight is read, so a bad command exits 2 with nothing written: a student with its own tokenizer, and
``--embedding-dim``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from distilcli.distill.config import EMBEDDINGS, DistillConfig, mode_of
from distilcli.errors import BadInput
from distilcli.models.pooling import read_pooling

#: A text whose ids differ between tokenizers that would read a corpus differently (case, accents, digits, symbols).
_PROBE = "Naïve Café-owners DON'T stop: 3.14 × 10⁶ über-fast sentences ❤ (2024)!"


def same_tokenizer(teacher: Any, student: Any) -> bool:
    """Whether ``student`` reads text as ``teacher`` does: the same vocabulary, and the same ids for a probe text."""
    if teacher.get_vocab() != student.get_vocab() or teacher.pad_token_id != student.pad_token_id:
        return False
    return list(teacher(_PROBE)["input_ids"]) == list(student(_PROBE)["input_ids"])


def tokenizer_of(spec: str) -> Any:
    """The tokenizer of the model ``spec`` names (None when its folder has none)."""
    from distilcli.models.loading import load_tokenizer
    from distilcli.models.resolve import resolve_model

    return load_tokenizer(resolve_model(spec))


def _refuse(why: str, checks: list[tuple[bool, str]]) -> None:
    """Raise :class:`BadInput` (``why: what``) for the first ``(bad, what)`` of ``checks`` that is bad."""
    for bad, what in checks:
        if bad:
            raise BadInput(f"{why}: {what}")


def check_student_tokenizer(cfg: DistillConfig) -> bool:
    """Whether ``--student`` reads with a tokenizer of its own; the options that cannot work with one are refused.

    Only the files are read (no weights): the command fails with exit 2 before anything is written.
    """
    teacher, student = tokenizer_of(cfg.teacher), tokenizer_of(str(cfg.student))
    if teacher is None or student is None or same_tokenizer(teacher, student):
        return False
    if mode_of(cfg) != EMBEDDINGS:
        raise BadInput(
            "student and teacher tokenizers differ: a student with its own tokenizer learns sentence "
            "embeddings only (--task embeddings); else use a student made with the teacher's tokenizer"
        )
    alphas = {
        "--alpha-ce": cfg.alpha_ce,
        "--alpha-mlm": cfg.alpha_mlm,
        "--alpha-mse": cfg.alpha_mse,
        "--alpha-cos": cfg.alpha_cos,
        "--alpha-hidden": cfg.alpha_hidden,
        "--alpha-attention": cfg.alpha_attention,
    }
    token_level = [flag for flag, alpha in alphas.items() if alpha]
    if token_level:
        zeros = " ".join(f"{flag} 0" for flag in token_level)
        raise BadInput(
            f"the student's tokenizer is not the teacher's, so only sentence embeddings are compared "
            f"(--alpha-mse-emb, --alpha-pooled, --alpha-sim, --alpha-rank): set {zeros}"
        )
    refused = [
        (
            cfg.document_per not in ("sentence", "line"),
            (
                "use --document-per sentence or line (each model reads a whole sentence or line, truncated at "
                "--max-seq-length by its own tokenizer, never chunks cut by one tokenizer)"
            ),
        ),
        (cfg.stream, "leave out --stream: the sentences are tokenised by both models before the run"),
        (bool(cfg.mask_inputs), "leave out --mask-inputs: both models read the clean sentences"),
        (cfg.fit_teacher_head > 0, "leave out --fit-teacher-head: no loss reads the teacher's MLM head"),
        (student.pad_token_id is None, "the student's tokenizer needs a pad token"),
    ]
    _refuse("the student's tokenizer is not the teacher's", refused)
    return True


def check_embedding_option(cfg: DistillConfig) -> None:
    """``--embedding-dim`` only with ``--task embeddings``, and at least 1 (no file read: the pipeline's pre-flight
    too)."""
    if cfg.embedding_dim is None:
        return
    if mode_of(cfg) != EMBEDDINGS:
        raise BadInput("--embedding-dim reduces sentence embeddings: add --task embeddings, or leave it out")
    if cfg.embedding_dim < 1:
        raise BadInput(f"--embedding-dim must be at least 1, got {cfg.embedding_dim}")


def check_query_passage(cfg: DistillConfig) -> None:
    """``--query-passage`` only with ``--task embeddings``, on whole lines or files, with even batches and clean
    inputs (no file read: the pipeline's pre-flight too)."""
    if not cfg.query_passage:
        return
    if mode_of(cfg) != EMBEDDINGS:
        raise BadInput("--query-passage makes pairs for sentence embeddings: add --task embeddings, or leave it out")
    refused = [
        (
            cfg.document_per == "sentence",
            "use --document-per line or file: a pair is cut from a paragraph, not a sentence",
        ),
        (cfg.stream, "leave out --stream: the pairs are made and tokenised before the run"),
        (
            bool(cfg.mask_inputs or cfg.alpha_ce or cfg.alpha_mlm or cfg.alpha_mse),
            "leave out --mask-inputs, --alpha-ce, --alpha-mlm, --alpha-mse: no text is masked",
        ),
        (
            not (cfg.alpha_sim or cfg.alpha_rank),
            "add --alpha-sim or --alpha-rank: only a loss that compares a batch's texts with each other uses the pairs",
        ),
        (cfg.fit_teacher_head > 0, "leave out --fit-teacher-head: no loss reads the teacher's MLM head"),
        (bool(cfg.batch_size and cfg.batch_size % 2), f"use an even --batch-size, not {cfg.batch_size}: whole pairs"),
    ]
    _refuse("--query-passage", refused)


def check_embedding_dim(cfg: DistillConfig) -> None:
    """``--embedding-dim`` at most the width it reduces (read from the configs and sentence-transformers files): the
    teacher's, or the student's own when the losses compare only similarities (:func:`start_own_pca`)."""
    from distilcli.distill.objective import make_objective
    from distilcli.models.loading import load_config
    from distilcli.models.resolve import resolve_model

    if cfg.embedding_dim is None:
        return
    whose, ref = "teacher", resolve_model(cfg.teacher)
    width = read_pooling(ref.path).width(int(load_config(ref).hidden_size))
    if not make_objective(cfg).compares_vectors and cfg.student:
        student = resolve_model(str(cfg.student))
        own = (Path(student.path) / "modules.json").is_file()
        pooling = read_pooling(student.path if own else ref.path)
        whose, width = "student", pooling.width(int(load_config(student).hidden_size))
    if cfg.embedding_dim > width:
        raise BadInput(
            f"--embedding-dim {cfg.embedding_dim} is wider than the {whose}'s {width}-wide embeddings: "
            f"use {width} or less"
        )
