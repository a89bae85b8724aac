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


def test_split_batches_are_the_random_batches_cut_by_length() -> None:
    from distilcli.training.batches import Batches
    from distilcli.training.options import TrainOptions

    lengths = _varied_lengths(200)
    ids = [[1] * n for n in lengths]
    random = Batches(TrainOptions(out=Path("x"), batch_size=32, seed=0, group_by_length=False), ids, 0, 0, 1)
    split = Batches(TrainOptions(out=Path("x"), batch_size=32, seed=0, length_split=4), ids, 0, 0, 1)
    assert split.steps_per_epoch == random.steps_per_epoch
    for whole, parts in zip(random.steps(1), split.steps(1)):
        assert sorted(i for part in parts for i in part) == sorted(whole[0])  # the same examples in the step
        assert len(parts) == 4 and all(len(part) == len(whole[0]) // 4 for part in parts)
        longest = [max(lengths[i] for i in part) for part in parts]
        assert longest == sorted(longest, reverse=True)  # cut by length, longest first
        # Less padding than the batch as drawn: each part is padded to its own longest only.
        assert sum(len(p) * max(lengths[i] for i in p) for p in parts) <= len(whole[0]) * max(lengths[i] for i in whole[0])
    grouped = Batches(TrainOptions(out=Path("x"), batch_size=32, seed=0, length_split=1), ids, 0, 0, 1)
    assert [len(step) for step in grouped.steps(0)] == [1] * grouped.steps_per_epoch  # the reference's grouping


def test_task_runs_split_and_general_distillation_groups() -> None:
    from distilcli.distill.config import DistillConfig, with_mode_defaults
    from distilcli.finetune.config import FinetuneConfig

    assert FinetuneConfig(model="m", task="sst2", out=Path("o")).length_split == 4
    assert with_mode_defaults(DistillConfig(teacher="t", out=Path("o"), task="glue:sst2")).length_split == 4
    assert with_mode_defaults(DistillConfig(teacher="t", out=Path("o"), corpus="c")).length_split == 1


def test_a_step_cut_into_unequal_parts_weighs_each_by_its_examples() -> None:
    """The loop's loss of a step is the mean over its examples, however the step is cut."""
    from types import SimpleNamespace

    from distilcli.training.loop import MicroBatch, TrainLoop

    model = torch.nn.Linear(1, 1, bias=False)
    torch.nn.init.ones_(model.weight)
    x = torch.arange(1.0, 12.0)[:, None]

    def micro_loss(micro: MicroBatch) -> torch.Tensor:
        return model(x[micro.indices]).mean()

    accelerator = SimpleNamespace(no_sync=lambda m: __import__("contextlib").nullcontext(), autocast=lambda: __import__("contextlib").nullcontext(),
                                  backward=lambda loss: loss.backward(), clip_grad_norm_=lambda p, n: torch.tensor(0.0), scaler=None,
                                  num_processes=1)  # fmt: skip
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    loop = TrainLoop(accelerator, model, optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 1.0), total_steps=1,
                     max_grad_norm=1.0, out=Path("unused"), config={})  # fmt: skip
    loss = loop._optimizer_step([list(range(8)), list(range(8, 11))], micro_loss)
    assert loss == pytest.approx(float(x.mean()))  # 6.0, not the mean of the two parts' means (4.5 and 10)
