"""Token sequences read straight from Arrow buffers: a corpus's chunks without one Python object per token.

``dataset["input_ids"]`` turns every token of a corpus into a Python int inside a Python list: about
36 bytes a token, gigabytes for a corpus of a few hundred megabytes, and minutes spent building them
on every start, the cached ones included. :class:`TokenRows` keeps the Arrow list columns as they
are (memory-mapped when the dataset was loaded from disk) and hands out one row at a time as a
zero-copy ``numpy`` view, so memory stays flat however large the corpus is.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import datasets
    import pyarrow as pa


class TokenRows(Sequence[np.ndarray]):
    """A sequence of token-id rows (``int32`` arrays) over Arrow list buffers, optionally a subset of them.

    Row ``i`` of the view is row ``index[i]`` of the underlying column; ``lengths`` is a numpy array.
    """

    def __init__(self, parts: list[tuple[np.ndarray, np.ndarray]], index: np.ndarray | None = None) -> None:
        # parts: (values, offsets) per Arrow chunk; offsets has one more entry than the chunk has rows.
        self._parts = parts
        counts = np.array([len(offsets) - 1 for _, offsets in parts], dtype=np.int64)
        self._first_row = np.concatenate([[0], np.cumsum(counts)])
        total = int(self._first_row[-1])
        self._index = np.arange(total, dtype=np.int64) if index is None else np.asarray(index, dtype=np.int64)
        self._lengths: np.ndarray | None = None

    @classmethod
    def from_arrow(cls, column: pa.ChunkedArray | pa.Array) -> TokenRows:
        """Rows of an Arrow ``list<int>`` column (chunked or not), without copying its buffers."""
        chunks = column.chunks if hasattr(column, "chunks") else [column]
        parts = []
        for chunk in chunks:
            if len(chunk) == 0:
                continue
            # .offsets follows a slice of the chunk; .values is the whole child array the offsets point into.
            parts.append((chunk.values.to_numpy(zero_copy_only=False), chunk.offsets.to_numpy(zero_copy_only=False)))
        return cls(parts)

    @classmethod
    def from_dataset(cls, dataset: datasets.Dataset, column: str = "input_ids") -> TokenRows:
        """The rows of ``dataset[column]`` (a datasets ``Dataset`` without indices mapping)."""
        return cls.from_arrow(dataset.data.table.column(column))

    @classmethod
    def from_lists(cls, rows: Sequence[Sequence[int]]) -> TokenRows:
        """Rows given as Python lists (tests, small inputs)."""
        lengths = np.fromiter((len(row) for row in rows), dtype=np.int64, count=len(rows))
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        values = np.fromiter((t for row in rows for t in row), dtype=np.int32, count=int(offsets[-1]))
        return cls([(values, offsets)] if len(rows) else [])

    def _locate(self, row: int) -> tuple[np.ndarray, int, int]:
        part = int(np.searchsorted(self._first_row, row, side="right")) - 1
        values, offsets = self._parts[part]
        local = row - int(self._first_row[part])
        return values, int(offsets[local]), int(offsets[local + 1])

    def __len__(self) -> int:
        return len(self._index)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return TokenRows(self._parts, self._index[i])
        n = len(self._index)
        if not -n <= i < n:
            raise IndexError(f"row {i} out of range for {n} rows")
        values, start, end = self._locate(int(self._index[i]))
        return values[start:end]

    def __iter__(self) -> Iterator[np.ndarray]:
        for i in range(len(self)):
            yield self[i]

    def select(self, indices: Sequence[int] | np.ndarray) -> TokenRows:
        """The rows at ``indices`` of this view, in that order (no token is copied)."""
        return TokenRows(self._parts, self._index[np.asarray(indices, dtype=np.int64)])

    @property
    def lengths(self) -> np.ndarray:
        """Each row's length (``int64``), computed once from the offsets."""
        if self._lengths is None:
            per_part = [np.diff(offsets) for _, offsets in self._parts]
            every = np.concatenate(per_part) if per_part else np.zeros(0, dtype=np.int64)
            self._lengths = every.astype(np.int64)[self._index]
        return self._lengths

    def total_tokens(self) -> int:
        """The number of token ids over all rows."""
        return int(self.lengths.sum())
