"""The parts a general-distillation run passes between its phases: corpus, student, progress."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch

from distilcli.distill.modules import DistillationStudent
from distilcli.distill.objective import DistillationObjective
from distilcli.training.batches import Batches

if TYPE_CHECKING:  # pragma: no cover
    from distilcli.data.masking import DynamicMasker
    from distilcli.models.adapters import ArchitectureAdapter

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


@dataclass
class Progress:
    """What the run records while it trains (kept in its checkpoints)."""

    history: dict[str, list[float]] = field(default_factory=lambda: {"step": [], "loss": [], "tokens_per_s": []})
    tokens: int = 0
    window: dict[str, float] = field(default_factory=dict)
    window_tokens: int = 0
    window_start: float = field(default_factory=time.perf_counter)

    def close_window(self, step: int, tokens: int, seconds: float, means: dict[str, float]) -> dict[str, float]:
        """Record the status line's window (``means`` of each loss term) in the history; start the next window.

        Returns the values to track: the same numbers as the report's ``loss_curves`` and
        ``tokens_per_s_curve`` at this step.
        """
        self.tokens += tokens
        self.history["step"].append(step)
        self.history["tokens_per_s"].append(tokens / seconds)
        for name, value in means.items():
            self.history.setdefault(name, []).append(value)
        self.window, self.window_tokens, self.window_start = {}, 0, time.perf_counter()
        return {f"train/{name}": value for name, value in means.items()} | {"train/tokens_per_s": tokens / seconds}
