"""Deterministic, per-process batches of a training run (length-grouped or random)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:  # pragma: no cover
    from distilcli.training.options import TrainOptions


#: The reference's mega-batch: this many batches sorted by length together (DistilBERT's group_by_size, HF's 50).
GROUP_BATCHES = 50


def split_by_length(batch: list[int], lengths: Sequence[int] | np.ndarray, parts: int) -> list[list[int]]:
    """``batch`` sorted by length (longest first) and cut into ``parts`` micro-batches of near-equal size.

    The optimizer step still sees the whole batch (the loop weighs each micro-batch by its size),
    so the gradient is the random batch's; only the padding shrinks, each part padded to its own longest.
    """
    ordered = sorted(batch, key=lambda i: -int(lengths[i]))
    size = -(-len(ordered) // parts)
    return [ordered[k : k + size] for k in range(0, len(ordered), size)]


class EpochSteps(Sequence[list[list[int]]]):
    """One process's optimizer steps of an epoch, each a list of micro-batches, computed when asked for.

    The epoch is two tensors (the arranged example indices and the batches' order), not a list per
    batch: a corpus of millions of chunks costs a few arrays, not gigabytes of Python ints.
    """

    def __init__(self, batches: Batches, members: torch.Tensor, order: torch.Tensor) -> None:
        self._b, self._members, self._order = batches, members, order

    def __len__(self) -> int:
        return self._b.steps_per_epoch

    def _batch(self, j: int) -> list[int]:
        # This process takes every world-th batch of the epoch, from its rank on.
        position = int(self._order[self._b.rank + j * self._b.world])
        size = self._b.cfg.batch_size
        return self._members[position * size : (position + 1) * size].tolist()

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        if not -len(self) <= i < len(self):
            raise IndexError(f"step {i} out of range for {len(self)} steps")
        i %= len(self)
        ga, split = self._b.cfg.grad_accum, self._b.split
        micro = [self._batch(i * ga + k) for k in range(ga)]
        if split > 1:
            micro = [part for batch in micro for part in split_by_length(batch, self._b.lengths, split)]
        return micro


class Batches:
    """Deterministic batches: the same (seed, epoch) always yields the same batches, per process.

    ``group`` > 1: the rows come in consecutive groups that must share a batch (a query and its passage): the
    batches are random, of whole groups, never grouped or split by length.
    """

    def __init__(
        self, cfg: TrainOptions, ids: Sequence[Sequence[int]], pad_id: int, rank: int, world: int, group: int = 1
    ) -> None:
        from distilcli.data.batching import pad_collate

        self.cfg, self.ids, self.rank, self.world, self.group = cfg, ids, rank, world, group
        self.collate = pad_collate(pad_id)
        lengths = getattr(ids, "lengths", None)  # TokenRows know theirs without reading a token
        self.lengths = lengths if lengths is not None else np.array([len(x) for x in ids], dtype=np.int64)
        per_rank = self._count_all() // world
        self.steps_per_epoch = per_rank // cfg.grad_accum

    def _count_all(self) -> int:
        return math.ceil(len(self.ids) / self.cfg.batch_size)

    def steps(self, epoch: int) -> EpochSteps:
        """This process's optimizer steps of an epoch, each a list of ``grad_accum`` micro-batches (then split by
        length)."""
        from distilcli.data.batching import LengthGroupedBatchSampler

        if self.cfg.group_by_length and self.split == 1 and self.group == 1:
            group = self.cfg.group_batches or GROUP_BATCHES
            sampler = LengthGroupedBatchSampler(
                self.lengths, self.cfg.batch_size, seed=self.cfg.seed, mega_batch_mult=group
            )
            sampler.set_epoch(epoch)
            members, order = sampler.arrangement()
            return EpochSteps(self, members, order)
        # The reference way: random batches, whatever their lengths (of whole groups: one row each unless grouped).
        order = torch.randperm(
            len(self.ids) // self.group, generator=torch.Generator().manual_seed(self.cfg.seed + epoch)
        )
        members = (order[:, None] * self.group + torch.arange(self.group)).flatten()
        return EpochSteps(self, members, torch.arange(self._count_all()))

    @property
    def split(self) -> int:
        """Micro-batches each random batch is cut into by length (1: the batches as drawn, or grouped)."""
        return (self.cfg.length_split or 1) if self.cfg.group_by_length and self.group == 1 else 1

    def tensors(self, indices: list[int]) -> dict[str, torch.Tensor]:
        """The rows ``indices`` as one right-padded batch (``input_ids``, ``attention_mask``)."""
        return self.collate([{"input_ids": self.ids[i]} for i in indices])
