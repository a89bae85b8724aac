"""The parts a general-distillation run passes between its phases: corpus, student, the fitted head."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from distilcli import __version__
from distilcli.distill.modules import DistillationStudent
from distilcli.distill.objective import DistillationObjective
from distilcli.errors import BadInput, first_line
from distilcli.rundir import RunFolder
from distilcli.training.batches import Batches
from distilcli.training.checkpoint import CHECKPOINTS

if TYPE_CHECKING:  # pragma: no cover
    from accelerate import Accelerator

    from distilcli.data.masking import DynamicMasker
    from distilcli.distill.config import DistillConfig
    from distilcli.distill.teacher_cache import TeacherCache
    from distilcli.models.adapters import ArchitectureAdapter
    from distilcli.models.loading import LoadedModel
    from distilcli.training.log_window import LogWindow
    from distilcli.training.loop import TrainLoop

HEAD_DIR = "teacher-head"
#: How a sentence distillation's embedding head started (its PCA or least-squares fit), reused by --resume.
EMBEDDING_HEAD_DIR = "embedding-head"
#: The fitted head's tensors (safetensors: nothing in a run folder is ever unpickled) and, in its
#: metadata, how it was fitted.
HEAD_FILE = "head.safetensors"
#: The command named in a general distillation's run folder (a --resume must be one of its runs).
COMMAND = "distill"

Batch = dict[str, torch.Tensor]


def run_folder(cfg: DistillConfig) -> RunFolder:
    """General distillation's ``--out``: a run has started once it made its checkpoints folder or fitted a head.

    A run stopped before its first checkpoint (but past that point) is resumed from step 0.
    """
    return RunFolder.of(cfg, COMMAND, started=(CHECKPOINTS, HEAD_DIR, EMBEDDING_HEAD_DIR))


@dataclass
class Corpus:
    """The tokenised corpus of a run: held-out chunks (for the head fit), training batches, the masker."""

    train_ids: Sequence[Sequence[int]]  # TokenRows for a corpus
    heldout_ids: Sequence[Sequence[int]]
    batches: Batches
    masker: DynamicMasker
    device: torch.device
    mask_inputs: bool = True
    pad_id: int = 0
    teacher_cache: TeacherCache | None = None  # --cache-teacher: the teacher's outputs per sequence
    stream: bool = False  # --stream: batches read from the corpus as the run goes (train_ids: a sample)
    # A student with its own tokenizer: the same sentences in its ids (row i of train_ids is row i here).
    student_rows: Sequence[Sequence[int]] | None = None
    student_pad_id: int = 0
    pair_stats: dict[str, int] | None = None  # how many sentences were kept, dropped, truncated

    def masked(self, batch: Batch, seed: int, *, mask: bool = True) -> Batch:
        """``batch`` with a fresh dynamic mask drawn from ``seed`` (clean, no labels, unless ``mask``), on the run's
        device."""
        ids, labels = batch["input_ids"], torch.full_like(batch["input_ids"], -100)
        if mask:
            ids, labels = self.masker(ids, batch["attention_mask"], torch.Generator().manual_seed(seed))
        return {
            "input_ids": ids.to(self.device),
            "attention_mask": batch["attention_mask"].to(self.device),
            "labels": labels.to(self.device),
        }

    def student_inputs(self, batch: Batch, indices: list[int], select: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """What the student reads (ids, mask, labels, selected positions): the teacher's batch, or the sentences in its
        own ids."""
        if self.student_rows is None:
            return batch["input_ids"], batch["attention_mask"], batch["labels"], select
        from distilcli.data.batching import pad_collate

        own = self.masked(
            pad_collate(self.student_pad_id)([{"input_ids": self.student_rows[i]} for i in indices]), 0, mask=False
        )
        return own["input_ids"], own["attention_mask"], own["labels"], own["attention_mask"].bool()


@dataclass
class Student:
    model: DistillationStudent
    adapter: ArchitectureAdapter
    layer_map: list[int]
    objective: DistillationObjective
    layer_choice: dict[str, Any] | None = None  # how --layer-map auto chose the map
    sentence_files: Path | None = None  # whose sentence-transformers files the saved student keeps


def provenance(
    cfg: DistillConfig,
    accelerator: Accelerator,
    loop: TrainLoop,
    window: LogWindow,
    teacher: LoadedModel,
    student: Student,
    corpus: Corpus,
    head_fit: dict[str, Any] | None,
) -> dict[str, Any]:
    """How the student was made: saved in its config.json (``distilcli``), its card and the report."""
    loss_curve = window.lines["loss"]
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
            "train_chunks": None if corpus.stream else len(corpus.train_ids),
            "stream": corpus.stream,
            "max_seq_length": cfg.max_seq_length,
            "steps": loop.step,
            "batch_size": cfg.batch_size,
            "grad_accum": cfg.grad_accum,
            "processes": accelerator.num_processes,
            "alphas": student.objective.alphas,
            "pooling": _pooling(student.objective) if student.objective.needs_pooled else None,
            "teacher_cache": corpus.teacher_cache.record() if corpus.teacher_cache else None,
            "temperature": cfg.temperature,
            "loss_first": loss_curve[0],
            "loss_final": loss_curve[-1],
            "teacher_head": head_fit,
        },
    }


def _pooling(objective: DistillationObjective) -> dict[str, Any]:
    pooling = objective.pooling
    return {"modes": list(pooling.modes), "normalize": pooling.normalize, "source": pooling.source}


def save_head(head_dir: Path, state: dict[str, torch.Tensor], fit: dict[str, Any], teacher: str) -> None:
    """Write the fitted head (temp file, fsync, rename): tensors and, as metadata, the fit's record."""
    from safetensors.torch import save_file

    from distilcli.training.checkpoint import fsync_path

    head_dir.mkdir(parents=True, exist_ok=True)
    tmp = head_dir / f".{HEAD_FILE}.tmp"
    tensors = {name: t.detach().cpu().contiguous().clone() for name, t in state.items()}
    save_file(tensors, str(tmp), metadata={"fit": json.dumps(fit), "teacher": teacher})
    fsync_path(tmp)
    os.replace(tmp, head_dir / HEAD_FILE)


def load_head(
    path: Path, shapes: dict[str, torch.Size], what: str = "teacher head"
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """(tensors, fit record) of a head saved by :func:`save_head`, of these ``shapes``; else :class:`BadInput` naming
    the file."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            fit = json.loads((f.metadata() or {})["fit"])
            tensors = {name: f.get_tensor(name) for name in f.keys()}  # noqa: SIM118 - safe_open has no __iter__
        if {name: t.shape for name, t in tensors.items()} != shapes:
            raise ValueError(f"its tensors are not this run's {what}")
    except Exception as exc:  # noqa: BLE001 - whatever the file holds, one clear line
        raise BadInput(
            f"{what} file {path} is not readable ({first_line(exc, 160)}): remove it to fit the head again"
        ) from None
    return tensors, fit
