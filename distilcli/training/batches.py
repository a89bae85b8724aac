"""Deterministic, per-process batches of a training run (length-grouped or random)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:  # pragma: no cover
    from distilcli.training.options import TrainOptions


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

        if self.cfg.group_by_length:
            sampler = LengthGroupedBatchSampler(self.lengths, self.cfg.batch_size, seed=self.cfg.seed)
            sampler.set_epoch(epoch)
            return list(sampler)
        # The reference way: random batches, whatever their lengths.
        order = torch.randperm(len(self.ids), generator=torch.Generator().manual_seed(self.cfg.seed + epoch)).tolist()
        return [order[i : i + self.cfg.batch_size] for i in range(0, len(order), self.cfg.batch_size)]

    def steps(self, epoch: int) -> list[list[list[int]]]:
        """This process's optimizer steps of an epoch, each a list of ``grad_accum`` micro-batches."""
        mine = self._epoch_batches(epoch)[self.rank :: self.world][: self.steps_per_epoch * self.cfg.grad_accum]
        ga = self.cfg.grad_accum
        return [mine[i * ga : (i + 1) * ga] for i in range(self.steps_per_epoch)]

    def tensors(self, indices: list[int]) -> dict[str, torch.Tensor]:
        """The rows ``indices`` as one right-padded batch (``input_ids``, ``attention_mask``)."""
        return self.collate([{"input_ids": self.ids[i]} for i in indices])
