"""Batches drawn from a chunk stream (``distill --stream``), with the interface of
:class:`~distilcli.training.batches.Batches`.

A stream has no length, so a run is one "epoch" of ``--max-steps`` steps. Each step draws the rows
of every process's micro-batches from the stream (the same draws in every process, each taking its
share, as :class:`Batches` does); with length grouping, ``group`` steps' rows are sorted by length
together and cut into batches, as the reference's mega-batches are. Steps are made in order; asking
for a later one (a resumed run) reads the stream up to it, so a resumed run sees the uninterrupted
run's batches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

from distilcli.training.batches import GROUP_BATCHES, split_by_length

if TYPE_CHECKING:  # pragma: no cover
    from distilcli.training.options import TrainOptions


class _StreamSteps(Sequence[list[list[int]]]):
    def __init__(self, owner: StreamBatches, rows: Iterator[list[int]], seed: int) -> None:
        self._owner, self._rows, self._rng = owner, rows, np.random.default_rng(seed)
        self._next = 0  # the next step to make
        self._last: tuple[int, list[list[int]]] | None = None
        self._pending: list[list[int]] = []  # batches (row ids) drawn and not yet used

    def __len__(self) -> int:
        return self._owner.steps_per_epoch

    def _draw_batches(self) -> None:
        owner, cfg = self._owner, self._owner.cfg
        per_step = cfg.batch_size * cfg.grad_accum * owner.world
        group = (cfg.group_batches or GROUP_BATCHES) if cfg.group_by_length and owner.split == 1 else 1
        fresh = []
        for _ in range(per_step * group):
            owner.rows[owner.next_id] = np.asarray(next(self._rows), dtype=np.int32)
            fresh.append(owner.next_id)
            owner.next_id += 1
        if group > 1:  # the reference's mega-batch: sorted by length, cut, the batches' order shuffled
            fresh.sort(key=lambda i: -len(owner.rows[i]))
            batches = [fresh[k : k + cfg.batch_size] for k in range(0, len(fresh), cfg.batch_size)]
            self._pending.extend(batches[int(k)] for k in self._rng.permutation(len(batches)))
        else:
            self._pending.extend(fresh[k : k + cfg.batch_size] for k in range(0, len(fresh), cfg.batch_size))

    def _make(self) -> list[list[int]]:
        owner, cfg = self._owner, self._owner.cfg
        needed = cfg.grad_accum * owner.world
        while len(self._pending) < needed:
            self._draw_batches()
        step, self._pending = self._pending[:needed], self._pending[needed:]
        mine = step[owner.rank :: owner.world]
        for k, batch in enumerate(step):  # the other processes' rows are not needed here
            if k % owner.world != owner.rank:
                for i in batch:
                    owner.rows.pop(i, None)
        if owner.split > 1:
            lengths = {i: len(owner.rows[i]) for batch in mine for i in batch}
            mine = [part for batch in mine for part in split_by_length(batch, lengths, owner.split)]
        return mine

    def __getitem__(self, position):  # type: ignore[override]
        if isinstance(position, slice):
            raise TypeError("the steps of a stream are read one at a time, in order")
        if self._last is not None and self._last[0] == position:
            return self._last[1]
        if position < self._next:
            raise IndexError(f"step {position} of a stream was already read (the next is {self._next})")
        while self._next <= position:
            if self._last is not None:  # the previous step is done with: its rows go
                for batch in self._last[1]:
                    for i in batch:
                        self._owner.rows.pop(i, None)
            self._last = (self._next, self._make())
            self._next += 1
        return self._last[1]


class StreamBatches:
    """Batches of a stream: ``steps(epoch)`` reads it afresh from the start (the same seed, the same rows)."""

    def __init__(
        self,
        cfg: TrainOptions,
        open_stream: Callable[[], Iterator[list[int]]],
        pad_id: int,
        rank: int,
        world: int,
        steps: int,
    ) -> None:
        from distilcli.data.batching import pad_collate

        self.cfg, self.rank, self.world, self.steps_per_epoch = cfg, rank, world, steps
        self.collate = pad_collate(pad_id)
        self._open = open_stream
        self.rows: dict[int, np.ndarray] = {}
        self.next_id = 0

    @property
    def split(self) -> int:
        """Micro-batches each batch is cut into by length (1: batches as drawn, or grouped)."""
        return (self.cfg.length_split or 1) if self.cfg.group_by_length else 1

    def steps(self, epoch: int) -> _StreamSteps:
        """The run's steps, made as they are asked for, from the start of the stream."""
        self.rows.clear()
        return _StreamSteps(self, self._open(), self.cfg.seed + epoch)

    def tensors(self, indices: list[int]) -> dict[str, torch.Tensor]:
        """The rows ``indices`` (drawn for the current step) as one right-padded batch."""
        return self.collate([{"input_ids": self.rows[i]} for i in indices])
