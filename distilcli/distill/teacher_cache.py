"""``--cache-teacher`` for corpus distillation: the teacher's outputs per training sequence, computed once.

The teacher is frozen and, on clean inputs, reads the same tokens every epoch, so its sentence
embedding (and, for ``L_cos``, its last hidden states) for a sequence never changes. The cache
fills as sequences are first drawn, so a run shorter than an epoch does no extra work and every
process of a multi-process run keeps only its own share; from the second time a sequence is
drawn on, the teacher does not run for it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from distilcli.distill.modules import TeacherOutputs
from distilcli.distill.objective import DistillationObjective
from distilcli.errors import BadInput

#: The loss terms whose teacher side cannot be cached: per-step masks, vocabulary logits, every layer.
_UNCACHEABLE = {
    "ce": "--alpha-ce",
    "mlm": "--alpha-mlm",
    "mse": "--alpha-mse",
    "hidden": "--alpha-hidden",
    "attention": "--alpha-attention",
}
#: The cache may take at most this share of the machine's memory.
_MEMORY_SHARE = 0.5


def check_cacheable(objective: DistillationObjective, mask_inputs: bool) -> None:
    """:class:`BadInput` unless the teacher's outputs are the same every time a sequence is drawn."""
    terms = [option for name, option in _UNCACHEABLE.items() if name in objective.alphas]
    if terms:
        raise BadInput(
            "--cache-teacher keeps sentence embeddings and last hidden states only, "
            f"not what {', '.join(terms)} needs: "
            f"set {' and '.join(f'{t} 0' for t in terms)}, or leave out --cache-teacher"
        )
    if mask_inputs:
        raise BadInput(
            "--cache-teacher needs clean inputs (a new mask every step changes what the teacher reads): "
            "pass --no-mask-inputs, or leave out --cache-teacher"
        )


def check_fits(objective: DistillationObjective, train_ids: Sequence[Sequence[int]], hidden_size: int) -> None:
    """:class:`BadInput` when a full cache of these sequences would exceed half this machine's memory."""
    rows = len(train_ids) if objective.needs_pooled else 0
    lengths = getattr(train_ids, "lengths", None)  # TokenRows: no row read
    total = int(lengths.sum()) if lengths is not None else sum(len(ids) for ids in train_ids)
    tokens = total if objective.needs_hidden_states else 0
    needed = (rows + tokens) * hidden_size * 4  # float32, as the teacher computes them
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    if needed > _MEMORY_SHARE * total:
        raise BadInput(
            f"--cache-teacher would hold {needed / 2**30:.1f} GiB of teacher outputs ({tokens:,} token states), "
            f"more than half of this machine's {total / 2**30:.1f} GiB: set --alpha-cos 0 to cache sentence "
            "embeddings only, use a smaller corpus, or leave out --cache-teacher"
        )


@dataclass
class TeacherCache:
    """Per training sequence: the teacher's sentence embedding [H] and its last hidden states [tokens, H]."""

    pooled: dict[int, torch.Tensor] = field(default_factory=dict)
    tokens: dict[int, torch.Tensor] = field(default_factory=dict)
    hits: int = 0
    misses: int = 0

    def outputs(
        self, indices: list[int], attention_mask: torch.Tensor, compute: Callable[[list[int]], TeacherOutputs]
    ) -> TeacherOutputs:
        """The teacher's outputs for the batch of sequences ``indices`` (its ``attention_mask``), in batch order.

        ``compute(missing)`` runs the teacher on the sequences not cached yet, as one batch.
        """
        lengths = dict(zip(indices, attention_mask.sum(dim=1).tolist()))
        missing = [i for i in indices if i not in self.pooled and i not in self.tokens]
        self.hits += len(indices) - len(missing)
        self.misses += len(missing)
        if missing:
            self._store(missing, [int(lengths[i]) for i in missing], compute(missing))
        pooled = torch.stack([self.pooled[i] for i in indices]) if self.pooled else None
        # select_tokens keeps real tokens in row-major order: sequence after sequence.
        last = torch.cat([self.tokens[i] for i in indices]) if self.tokens else None
        return TeacherOutputs(logits=None, last_hidden=last, layer_states=None, attentions=None, pooled=pooled)

    def _store(self, missing: list[int], lengths: list[int], out: TeacherOutputs) -> None:
        if out.pooled is not None:
            for row, i in enumerate(missing):
                self.pooled[i] = out.pooled[row].detach().clone()
        if out.last_hidden is not None:
            for i, states in zip(missing, out.last_hidden.split(lengths)):
                self.tokens[i] = states.detach().clone()

    def record(self) -> dict[str, Any]:
        """What the report keeps: sequences cached, teacher passes saved, the memory it holds."""
        held = sum(t.numel() * t.element_size() for t in (*self.pooled.values(), *self.tokens.values()))
        return {
            "sequences": max(len(self.pooled), len(self.tokens)),
            "hits": self.hits,
            "misses": self.misses,
            "megabytes": round(held / 2**20, 1),
        }
