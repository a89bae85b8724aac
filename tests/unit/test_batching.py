"""Length-grouped batches and right-padding collation."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import BatchSampler, DataLoader, RandomSampler

from distilcli.data.batching import LengthGroupedBatchSampler, pad_collate


def _varied_lengths(n: int = 4000, seed: int = 0) -> list[int]:
    return np.random.default_rng(seed).integers(12, 129, size=n).tolist()


def _padding_fraction(batches: list[list[int]], lengths: list[int]) -> float:
    padded = sum(max(lengths[i] for i in batch) * len(batch) for batch in batches)
    return 1 - sum(lengths) / padded


def test_every_index_once_per_epoch() -> None:
    lengths = _varied_lengths(1003)
    sampler = LengthGroupedBatchSampler(lengths, 16, seed=3, mega_batch_mult=4)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 63  # ceil(1003 / 16)
    assert sorted(i for batch in batches for i in batch) == list(range(1003))
    assert sorted(len(batch) for batch in batches)[:2] == [11, 16]  # one short batch: 1003 = 62 * 16 + 11


def test_drop_last() -> None:
    sampler = LengthGroupedBatchSampler(_varied_lengths(1003), 16, drop_last=True)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 62
    assert all(len(batch) == 16 for batch in batches)
    assert len({i for batch in batches for i in batch}) == 62 * 16
    assert len(LengthGroupedBatchSampler([5] * 32, 16, drop_last=True)) == 2  # nothing to drop when it divides


def test_one_mega_batch_groups_exactly_by_length() -> None:
    lengths = [5, 1, 4, 2, 3, 6]
    batches = list(LengthGroupedBatchSampler(lengths, 2, mega_batch_mult=10))
    # Sorted longest first and cut in pairs: (6, 5), (4, 3), (2, 1); only the batch order is random.
    assert sorted(batches) == sorted([[5, 0], [2, 4], [3, 1]])


def test_deterministic_per_epoch_and_different_across_epochs() -> None:
    lengths = _varied_lengths(500)
    a = LengthGroupedBatchSampler(lengths, 8, seed=11, mega_batch_mult=5)
    b = LengthGroupedBatchSampler(lengths, 8, seed=11, mega_batch_mult=5)
    epoch0 = list(a)
    assert epoch0 == list(b) == list(a)  # same seed and epoch: same batches, however often iterated
    a.set_epoch(1)
    epoch1 = list(a)
    assert epoch1 != epoch0
    b.set_epoch(1)
    assert list(b) == epoch1
    a.set_epoch(0)
    assert list(a) == epoch0
    assert list(LengthGroupedBatchSampler(lengths, 8, seed=12, mega_batch_mult=5)) != epoch0


def test_much_less_padding_than_random_batches() -> None:
    lengths = _varied_lengths(4000)
    grouped = list(LengthGroupedBatchSampler(lengths, 32, seed=0))
    generator = torch.Generator().manual_seed(0)
    random_batches = list(BatchSampler(RandomSampler(range(len(lengths)), generator=generator), 32, False))
    grouped_pad, random_pad = _padding_fraction(grouped, lengths), _padding_fraction(random_batches, lengths)
    assert random_pad > 0.3
    assert grouped_pad < 0.05
    assert grouped_pad < random_pad / 5


@pytest.mark.parametrize("kind", ["list", "numpy", "tensor", "column"])
def test_accepts_sequences_of_lengths(kind: str) -> None:
    import datasets

    base = [3, 9, 4, 7, 1]
    lengths = {
        "list": base,
        "numpy": np.array(base),
        "tensor": torch.tensor(base),
        "column": datasets.Dataset.from_dict({"length": base})["length"],
    }[kind]
    batches = list(LengthGroupedBatchSampler(lengths, 2, mega_batch_mult=5))
    assert sorted(batches) == sorted([[1, 3], [2, 0], [4]])


@pytest.mark.parametrize("kwargs", [{"batch_size": 0}, {"batch_size": 2, "mega_batch_mult": 0}])
def test_sampler_validates(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        LengthGroupedBatchSampler([1, 2, 3], **kwargs)


def test_empty_dataset() -> None:
    sampler = LengthGroupedBatchSampler([], 4)
    assert list(sampler) == [] and len(sampler) == 0


def test_pad_collate() -> None:
    collate = pad_collate(0)
    batch = collate(
        [
            {"input_ids": [2, 7, 8, 3], "length": 4},
            {"input_ids": torch.tensor([2, 9, 3]), "length": 3},
            {"input_ids": np.array([2, 3], dtype=np.int32), "length": 2},
        ]
    )
    assert set(batch) == {"input_ids", "attention_mask"}
    assert batch["input_ids"].dtype == torch.long and batch["attention_mask"].dtype == torch.long
    assert batch["input_ids"].tolist() == [[2, 7, 8, 3], [2, 9, 3, 0], [2, 3, 0, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 1], [1, 1, 1, 0], [1, 1, 0, 0]]
    assert pad_collate(5)([{"input_ids": [1]}, {"input_ids": [1, 2]}])["input_ids"].tolist() == [[1, 5], [1, 2]]
    with pytest.raises(ValueError):
        collate([])
    # Picklable, so DataLoader workers started with "spawn" can use it.
    assert pickle.loads(pickle.dumps(collate))([{"input_ids": [4]}])["input_ids"].tolist() == [[4]]


def test_with_a_data_loader() -> None:
    import datasets

    rows = [[2, *range(10, 10 + n), 3] for n in (1, 8, 2, 7, 3, 6)]
    data = datasets.Dataset.from_dict({"input_ids": rows, "length": [len(r) for r in rows]})
    sampler = LengthGroupedBatchSampler(data["length"], 2, mega_batch_mult=3)
    loader = DataLoader(data, batch_sampler=sampler, collate_fn=pad_collate(0))
    shapes = sorted(tuple(batch["input_ids"].shape) for batch in loader)
    assert shapes == [(2, 4), (2, 8), (2, 10)]  # lengths 10 9 8 5 4 3 paired in order: (10, 9), (8, 5), (4, 3)
    assert sum(int(batch["attention_mask"].sum()) for batch in loader) == sum(data["length"])


def test_small_training_sets_are_grouped_in_smaller_groups() -> None:
    from distilcli.training.batches import Batches, group_batches_for
    from distilcli.training.options import TrainOptions

    assert group_batches_for(63) == 7  # 2,000 examples of 32: eight groups, not one sort of 1,600
    assert group_batches_for(10_000) == 50 and group_batches_for(3) == 1
    lengths = _varied_lengths(2000)
    ids = [[1] * n for n in lengths]
    auto = Batches(TrainOptions(out=Path("x"), batch_size=32, seed=0), ids, 0, 0, 1)._epoch_batches(0)
    reference = list(LengthGroupedBatchSampler(lengths, 32, seed=0, mega_batch_mult=7))
    assert auto == reference
    fixed = Batches(TrainOptions(out=Path("x"), batch_size=32, seed=0, group_batches=50), ids, 0, 0, 1)._epoch_batches(0)
    assert fixed == list(LengthGroupedBatchSampler(lengths, 32, seed=0, mega_batch_mult=50)) != auto
