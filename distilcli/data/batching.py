"""Batches of similar length, and right-padding collation.

Chunks vary from a dozen to ``max_seq_length`` tokens; batching them at random pads most
batches to their longest member. Grouping by length within shuffled "mega-batches" (as the
DistilBERT reference's ``group_by_size`` and HF's ``LengthGroupedSampler`` do) keeps batches
nearly pad-free while the order stays random from epoch to epoch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Sampler


class LengthGroupedBatchSampler(Sampler[list[int]]):
    """Yield lists of dataset indices of similar length; deterministic for ``(seed, epoch)``.

    Each epoch: shuffle all indices, cut them into mega-batches of ``batch_size * mega_batch_mult``,
    sort each mega-batch by length (longest first), cut it into batches, then shuffle the batch
    order. Every index appears exactly once per epoch; the one short batch is kept unless
    ``drop_last``.
    """

    def __init__(
        self,
        lengths: Sequence[int],
        batch_size: int,
        *,
        seed: int = 0,
        mega_batch_mult: int = 50,
        drop_last: bool = False,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if mega_batch_mult < 1:
            raise ValueError(f"mega_batch_mult must be >= 1, got {mega_batch_mult}")
        super().__init__()
        if isinstance(lengths, torch.Tensor):
            values = lengths.detach().cpu().to(torch.int64)
        else:
            # A datasets Column or other lazy sequence: materialise it once.
            raw = lengths if isinstance(lengths, np.ndarray | list | tuple) else list(lengths)
            values = torch.from_numpy(np.asarray(raw, dtype=np.int64).copy())
        if values.dim() != 1:
            raise ValueError(f"lengths must be 1-D, got shape {tuple(values.shape)}")
        self.lengths = values
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.mega_batch_mult = int(mega_batch_mult)
        self.drop_last = bool(drop_last)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose order ``__iter__`` gives (call it before each epoch)."""
        self.epoch = int(epoch)

    def arrangement(self) -> tuple[torch.Tensor, torch.Tensor]:
        """This epoch's batches as two tensors: ``members`` (batch ``b`` is ``members[b*batch_size:(b+1)*batch_size]``)
        and ``order``, the batches' shuffled order (``drop_last`` applied). No Python list per index: an epoch
        of millions of chunks stays a few arrays."""
        generator = torch.Generator()
        generator.manual_seed(self.seed + self.epoch)
        n = self.lengths.numel()
        order = torch.randperm(n, generator=generator)
        mega = self.batch_size * self.mega_batch_mult
        groups = []
        for start in range(0, n, mega):
            group = order[start : start + mega]
            # A stable sort keeps ties in shuffled order, so equal lengths still mix across epochs.
            groups.append(group[torch.sort(self.lengths[group], descending=True, stable=True).indices])
        members = torch.cat(groups) if groups else order
        # Mega-batches are whole multiples of batch_size, so only the very last batch can be short.
        count = math.ceil(n / self.batch_size)
        if self.drop_last and n % self.batch_size:
            count -= 1
        return members, torch.randperm(count, generator=generator)

    def __iter__(self) -> Iterator[list[int]]:
        members, order = self.arrangement()
        for position in order.tolist():
            yield members[position * self.batch_size : (position + 1) * self.batch_size].tolist()

    def __len__(self) -> int:
        n = self.lengths.numel()
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)


def _as_ids(ids: Any) -> torch.Tensor:
    """One row's token ids as a 1-D int64 tensor (the caller copies it into the padded batch)."""
    if isinstance(ids, torch.Tensor):  # torch's __array__ predates NumPy 2's copy keyword (a warning)
        return ids.detach().to(torch.long).reshape(-1)
    # np.array copies: rows of a corpus are read-only views of its memory-mapped Arrow file.
    return torch.from_numpy(np.array(ids, dtype=np.int64).reshape(-1))


class _PadCollate:
    """A class rather than a closure so DataLoader workers started with "spawn" can pickle it."""

    def __init__(self, pad_token_id: int) -> None:
        self.pad_token_id = int(pad_token_id)

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        if not features:
            raise ValueError("cannot collate an empty batch")
        sequences = [_as_ids(feature["input_ids"]) for feature in features]
        width = max(seq.numel() for seq in sequences)
        input_ids = torch.full((len(sequences), width), self.pad_token_id, dtype=torch.long)
        attention_mask = torch.zeros((len(sequences), width), dtype=torch.long)
        for row, seq in enumerate(sequences):
            input_ids[row, : seq.numel()] = seq
            attention_mask[row, : seq.numel()] = 1
        return {"input_ids": input_ids, "attention_mask": attention_mask}


def pad_collate(pad_token_id: int) -> Callable[[list[dict]], dict[str, torch.Tensor]]:
    """A collate function: right-pad each example's ``input_ids`` to the batch's longest.

    Returns ``{"input_ids": LongTensor [B, L_max], "attention_mask": LongTensor [B, L_max]}``;
    other keys of the examples (such as ``length``) are ignored.
    """
    return _PadCollate(pad_token_id)
