"""What a training run adds to its folder's lifecycle (:class:`~distilcli.rundir.RunFolder`).

Its start on every process, its result file, its models outside the folder; and the subsample of its data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from distilcli.errors import BadInput
from distilcli.rundir import RunFolder
from distilcli.training.options import TrainOptions

RESULT_FILE = "finetune_result.json"


def start_run(run: RunFolder, cfg: TrainOptions | None = None) -> None:
    """Start ``run`` (:meth:`RunFolder.start`, ``cfg`` recorded) on the main process, between two barriers.

    Every process has checked --out before rank 0 empties it or writes into it, and none reads
    from it before rank 0 is done.
    """
    import torch
    from accelerate import PartialState

    state = PartialState(cpu=not torch.cuda.is_available())
    state.wait_for_everyone()
    run.start(cfg)
    state.wait_for_everyone()


def check_model_outside(spec: str, out: Path, flag: str) -> None:
    """The model must exist and must not live inside --out (which --overwrite would delete)."""
    from distilcli.models.resolve import resolve_model

    path = resolve_model(spec).path.resolve()
    out = Path(out).resolve()
    if path == out or out in path.parents:
        raise BadInput(f"{flag} {spec} is inside --out {out}: write the run to another folder")


def subsample(n: int, limit: int | None, draw: int = 0) -> list[int]:
    """Indices of a fixed random subsample of ``limit`` rows, in file order.

    The draw does not depend on ``--seed``, so every seed of ``--seeds`` trains on the
    same examples and their spread measures the seed alone. ``draw`` tells independent
    subsamples apart (the training limit, the held-out slice).
    """
    if limit is None or limit >= n:
        return list(range(n))
    rng = np.random.default_rng(draw)
    return sorted(rng.choice(n, size=limit, replace=False).tolist())
