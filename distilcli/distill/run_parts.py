"""The parts a general-distillation run passes between its phases: corpus, student, progress."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from distilcli import __version__
from distilcli.distill.modules import DistillationStudent
from distilcli.distill.objective import DistillationObjective
from distilcli.training.batches import Batches

if TYPE_CHECKING:  # pragma: no cover
    from accelerate import Accelerator

    from distilcli.data.masking import DynamicMasker
    from distilcli.distill.config import DistillConfig
    from distilcli.models.adapters import ArchitectureAdapter
    from distilcli.models.loading import LoadedModel
    from distilcli.training.loop import TrainLoop

HEAD_DIR = "teacher-head"
HEAD_FILE = "head.pt"

Batch = dict[str, torch.Tensor]


@dataclass
class Corpus:
    """The tokenised corpus of a run: held-out chunks (for the head fit), training batches, the masker."""

    train_ids: list[list[int]]
    heldout_ids: list[list[int]]
    batches: Batches
    masker: DynamicMasker
    device: torch.device
    mask_inputs: bool = True
    pad_id: int = 0

    def masked(self, batch: Batch, seed: int, *, mask: bool = True) -> Batch:
        """``batch`` with a fresh dynamic mask drawn from ``seed`` (clean, no labels, unless ``mask``), on the run's device."""
        ids, labels = batch["input_ids"], torch.full_like(batch["input_ids"], -100)
        if mask:
            ids, labels = self.masker(ids, batch["attention_mask"], torch.Generator().manual_seed(seed))
        return {
            "input_ids": ids.to(self.device),
            "attention_mask": batch["attention_mask"].to(self.device),
            "labels": labels.to(self.device),
        }


@dataclass
class Student:
    model: DistillationStudent
    adapter: ArchitectureAdapter
    layer_map: list[int]
    objective: DistillationObjective
    layer_choice: dict[str, Any] | None = None  # how --layer-map auto chose the map


@dataclass
class Progress:
    """What the run records while it trains (kept in its checkpoints)."""

    history: dict[str, list[float]] = field(default_factory=lambda: {"step": [], "loss": [], "tokens_per_s": []})
    tokens: int = 0
    window: dict[str, float] = field(default_factory=dict)
    window_tokens: int = 0
    window_start: float = field(default_factory=time.perf_counter)


def provenance(
    cfg: DistillConfig, accelerator: Accelerator, loop: TrainLoop, record: Progress, teacher: LoadedModel,
    student: Student, corpus: Corpus, head_fit: dict[str, Any] | None,
) -> dict[str, Any]:  # fmt: skip
    """How the student was made: saved in its config.json (``distilcli``), its card and the report."""
    loss_curve = record.history["loss"]
    return {
        "created_by": "distil distill",
        "distilcli_version": __version__,
        "teacher": cfg.teacher,
        "teacher_path": str(teacher.ref.path),
        "teacher_model_type": teacher.config.model_type,
        "teacher_num_layers": teacher.adapter.num_layers(teacher.config),
        "layer_map": student.layer_map,
        "layer_choice": student.layer_choice,
        "student_model_type": loop.unwrapped.model.config.model_type,
        "teacher_mlm_head_trained": teacher.has_trained_mlm_head or bool(head_fit),
        # The student's head is trained by the soft-target / MLM losses, or was copied trained.
        "mlm_head_trained": student.objective.needs_vocab_logits or teacher.has_trained_mlm_head,
        "distillation": {
            "corpus": cfg.corpus,
            "document_per": cfg.document_per,
            "mask_inputs": corpus.mask_inputs,
            "train_chunks": len(corpus.train_ids),
            "max_seq_length": cfg.max_seq_length,
            "steps": loop.step,
            "batch_size": cfg.batch_size,
            "grad_accum": cfg.grad_accum,
            "processes": accelerator.num_processes,
            "alphas": student.objective.alphas,
            "pooling": _pooling(student.objective) if student.objective.needs_pooled else None,
            "temperature": cfg.temperature,
            "loss_first": loss_curve[0],
            "loss_final": loss_curve[-1],
            "teacher_head": head_fit,
        },
    }


def _pooling(objective: DistillationObjective) -> dict[str, Any]:
    pooling = objective.pooling
    return {"modes": list(pooling.modes), "normalize": pooling.normalize, "source": pooling.source}
