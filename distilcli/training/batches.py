"""Deterministic, per-process batches of a training run (length-grouped or random)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:  # pragma: no cover
    from distilcli.training.options import TrainOptions


#: The reference's mega-batch: this many batches sorted by length together (DistilBERT's group_by_size, HF's 50).
GROUP_BATCHES = 50


def split_by_length(batch: list[int], lengths: list[int], parts: int) -> list[list[int]]:
    """``batch`` sorted by length (longest first) and cut into ``parts`` micro-batches of near-equal size.

    The optimizer step still sees the whole batch (the loop weighs each micro-batch by its size),
    so the gradient is the random batch's; only the padding shrinks, each part padded to its own longest.
    """
    ordered = sorted(batch, key=lambda i: -lengths[i])
    size = -(-len(ordered) // parts)
    return [ordered[k : k + size] for k in range(0, len(ordered), size)]


class Batches:
    """Deterministic batches: the same (seed, epoch) always yields the same batches, per process."""

    def __init__(self, cfg: TrainOptions, ids: list[list[int]], pad_id: int, rank: int, world: int) -> None:
        from distilcli.data.batching import pad_collate

        self.cfg, self.ids, self.rank, self.world = cfg, ids, rank, world
        self.collate = pad_collate(pad_id)
        self.lengths = [len(x) for x in ids]
        per_rank = self._count_all() // world
        self.steps_per_epoch = per_rank // cfg.grad_accum

    def _count_all(self) -> int:
        return math.ceil(len(self.ids) / self.cfg.batch_size)

    def _epoch_batches(self, epoch: int) -> list[list[int]]:
        from distilcli.data.batching import LengthGroupedBatchSampler

        if self.cfg.group_by_length and self.split == 1:
            group = self.cfg.group_batches or GROUP_BATCHES
            sampler = LengthGroupedBatchSampler(self.lengths, self.cfg.batch_size, seed=self.cfg.seed, mega_batch_mult=group)
            sampler.set_epoch(epoch)
            return list(sampler)
        # The reference way: random batches, whatever their lengths.
        order = torch.randperm(len(self.ids), generator=torch.Generator().manual_seed(self.cfg.seed + epoch)).tolist()
        return [order[i : i + self.cfg.batch_size] for i in range(0, len(order), self.cfg.batch_size)]

    def steps(self, epoch: int) -> list[list[list[int]]]:
        """This process's optimizer steps of an epoch, each a list of ``grad_accum`` micro-batches."""
        mine = self._epoch_batches(epoch)[self.rank :: self.world][: self.steps_per_epoch * self.cfg.grad_accum]
        ga = self.cfg.grad_accum
        steps = [mine[i * ga : (i + 1) * ga] for i in range(self.steps_per_epoch)]
        if self.split > 1:
            steps = [[part for batch in step for part in split_by_length(batch, self.lengths, self.split)] for step in steps]
        return steps

    @property
    def split(self) -> int:
        """Micro-batches each random batch is cut into by length (1: the batches as drawn, or grouped)."""
        return (self.cfg.length_split or 1) if self.cfg.group_by_length else 1

    def tensors(self, indices: list[int]) -> dict[str, torch.Tensor]:
        """The rows ``indices`` as one right-padded batch (``input_ids``, ``attention_mask``)."""
        return self.collate([{"input_ids": self.ids[i]} for i in indices])
