"""The options of ``distil finetune``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# Fields that may change between a run and its --resume (everything else must match).
RESUMABLE_CHANGES = frozenset({"out", "resume", "overwrite", "log_every", "output", "precision", "eval_batch_size"})


@dataclass
class FinetuneConfig:
    """Fine-tune ``model`` on one GLUE task or SQuAD; defaults follow HF ``run_glue``/``run_qa`` and BERT.

    AdamW (weight decay 0.01, none on biases and LayerNorm), 10% linear warm-up, clipping
    at 1.0, evaluation on dev once per epoch unless ``eval_every`` says otherwise.
    """

    model: str
    task: str
    out: Path
    glue_dir: Path | None = None
    hub_dir: Path | None = None
    train_file: Path | None = None
    dev_file: Path | None = None
    text_a: str | None = None
    text_b: str | None = None
    label_column: str | None = None
    epochs: int = 3
    max_steps: int | None = None
    batch_size: int = 32
    grad_accum: int = 1
    eval_batch_size: int = 128
    lr: float = 5e-5
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    max_seq_length: int | None = None  # 128 for GLUE, 384 for SQuAD
    seed: int = 42
    seeds: list[int] | str | None = None
    eval_every: int | None = None
    early_stopping: int = 0
    train_limit: int | None = None
    group_by_length: bool = True
    log_every: int = 50
    precision: str = "no"
    # SQuAD only: windows over long contexts, and how answers are read from the logits.
    doc_stride: int = 128
    max_query_length: int = 64
    n_best: int = 20
    max_answer_length: int = 30
    null_threshold: float = 0.0
    resume: bool = False
    overwrite: bool = False


def default_max_seq_length(task_name: str) -> int:
    """128 tokens for GLUE sentences, 384 for SQuAD's question + context windows (as BERT)."""
    from distilcli.tasks.squad.data import squad_task

    return 384 if squad_task(task_name) is not None else 128
