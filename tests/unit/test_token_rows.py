"""Corpus rows read from Arrow buffers, lazy epoch steps, and tokenising on several processes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from distilcli.data.token_rows import TokenRows

ROWS = [[2, 5, 5, 3], [2, 6, 3], [2, 7, 7, 7, 3], [2, 9, 3], [2, 4, 4, 4, 4, 3]]


def _chunked() -> pa.ChunkedArray:
    """ROWS as a list column of three Arrow chunks, one of them a slice (offsets not starting at 0)."""
    whole = pa.array(ROWS, type=pa.list_(pa.int32()))
    return pa.chunked_array([whole.slice(0, 2), pa.array([], type=pa.list_(pa.int32())), whole.slice(2, 3)])


@pytest.mark.parametrize("rows", [TokenRows.from_lists(ROWS), TokenRows.from_arrow(_chunked())])
def test_rows_are_the_lists(rows: TokenRows) -> None:
    assert len(rows) == len(ROWS)
    assert [row.tolist() for row in rows] == ROWS
    assert rows[-1].tolist() == ROWS[-1]
    assert rows.lengths.tolist() == [len(r) for r in ROWS] and rows.total_tokens() == sum(map(len, ROWS))
    picked = rows.select([4, 0, 2])
    assert [row.tolist() for row in picked] == [ROWS[4], ROWS[0], ROWS[2]]
    assert picked.lengths.tolist() == [6, 4, 5]
    assert [row.tolist() for row in picked[1:]] == [ROWS[0], ROWS[2]]  # a slice of a selection
    with pytest.raises(IndexError):
        rows[5]


def test_rows_of_a_dataset_share_its_buffers(tmp_path: Path) -> None:
    import datasets

    data = datasets.Dataset.from_dict({"input_ids": ROWS, "length": [len(r) for r in ROWS]})
    path = tmp_path / "data"
    data.save_to_disk(str(path))
    loaded = datasets.load_from_disk(str(path))
    rows = TokenRows.from_dataset(loaded)
    assert [row.tolist() for row in rows] == ROWS
    assert not rows[0].flags.writeable  # a view of the memory-mapped file, not a copy


def _old_steps(batches, epoch: int) -> list[list[list[int]]]:
    """The steps as the previous list-building code made them: the reference for the lazy ones."""
    from distilcli.data.batching import LengthGroupedBatchSampler
    from distilcli.training.batches import split_by_length

    cfg = batches.cfg
    if cfg.group_by_length and batches.split == 1:
        sampler = LengthGroupedBatchSampler(batches.lengths, cfg.batch_size, seed=cfg.seed, mega_batch_mult=cfg.group_batches or 50)
        sampler.set_epoch(epoch)
        every = list(sampler)
    else:
        import torch

        order = torch.randperm(len(batches.ids), generator=torch.Generator().manual_seed(cfg.seed + epoch)).tolist()
        every = [order[i : i + cfg.batch_size] for i in range(0, len(order), cfg.batch_size)]
    mine = every[batches.rank :: batches.world][: batches.steps_per_epoch * cfg.grad_accum]
    ga = cfg.grad_accum
    steps = [mine[i * ga : (i + 1) * ga] for i in range(batches.steps_per_epoch)]
    if batches.split > 1:
        steps = [[p for b in step for p in split_by_length(b, batches.lengths, batches.split)] for step in steps]
    return steps


@pytest.mark.parametrize(
    ("options", "rank", "world"),
    [({"length_split": 1, "group_batches": 3}, 0, 1), ({"length_split": 1, "grad_accum": 2}, 1, 2),
     ({"length_split": 4}, 1, 2), ({"group_by_length": False, "grad_accum": 3}, 0, 1)],
)  # fmt: skip
def test_lazy_steps_equal_the_listed_ones(options: dict, rank: int, world: int) -> None:
    from distilcli.training.batches import Batches
    from distilcli.training.options import TrainOptions

    rng = np.random.default_rng(0)
    ids = TokenRows.from_lists([[1] * int(n) for n in rng.integers(3, 60, size=301)])
    batches = Batches(TrainOptions(out=Path("x"), batch_size=8, seed=4, **options), ids, 0, rank, world)
    for epoch in (0, 1):
        lazy = batches.steps(epoch)
        assert len(lazy) == batches.steps_per_epoch > 0
        assert [lazy[i] for i in range(len(lazy))] == _old_steps(batches, epoch)
        assert lazy[-1] == lazy[len(lazy) - 1]
