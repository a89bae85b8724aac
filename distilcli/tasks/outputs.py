"""A teacher's outputs computed once per training feature (``--cache-teacher``), batched on request."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import torch


class CachedOutputs:
    """One row of teacher outputs per training feature.

    ``per_token`` rows (SQuAD's start/end logits) have one row per token and are padded to the
    batch's width with the lowest float, which softmax turns into a probability of 0.
    """

    def __init__(self, rows: list[np.ndarray], per_token: bool = False) -> None:
        self.rows = rows
        self.per_token = per_token

    def get(self, indices: list[int], width: int) -> torch.Tensor:
        """The rows ``indices`` as one batch (per-token rows padded to ``width`` tokens)."""
        import torch

        if not self.per_token:
            return torch.from_numpy(np.stack([self.rows[i] for i in indices]))
        shape = self.rows[indices[0]].shape[1:]
        out = np.full((len(indices), width, *shape), np.finfo(np.float32).min, dtype=np.float32)
        for r, i in enumerate(indices):
            out[r, : len(self.rows[i])] = self.rows[i]
        return torch.from_numpy(out)
