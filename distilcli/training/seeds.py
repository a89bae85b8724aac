"""``--seeds``: one task run per seed, each in ``out/seed-N``, shared by fine-tuning and task distillation."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from distilcli import progress
from distilcli.errors import BadInput
from distilcli.training.options import TaskOptions
from distilcli.training.run_files import RESULT_FILE

C = TypeVar("C", bound=TaskOptions)


def parse_seeds(value: list[int] | str | None) -> list[int] | None:
    """``1,2,3`` (or a YAML list) as a list of distinct integers; None when not given."""
    if value is None:
        return None
    items = value if isinstance(value, list) else [part for part in str(value).replace(" ", "").split(",") if part]
    try:
        seeds = [int(item) for item in items]
    except (TypeError, ValueError):
        raise BadInput(f"--seeds {value!r}: expected comma-separated integers, e.g. 1,2,3,4,5") from None
    if not seeds:
        raise BadInput("--seeds is empty: give at least one seed, e.g. 1,2,3,4,5")
    if len(set(seeds)) != len(seeds):
        raise BadInput(f"--seeds {value!r} repeats a seed")
    return seeds


def run_seed(cfg: C, seed: int, n: int, count: int, train: Callable[[C], dict[str, Any]]) -> dict[str, Any]:
    """One seed of ``--seeds`` in ``out/seed-N`` (``train`` runs it); a seed already done is read back on --resume."""
    sub = replace(cfg, seed=seed, seeds=None, out=Path(cfg.out) / f"seed-{seed}", overwrite=False)
    if cfg.tracking_dir is not None:  # each seed its own run beside the others (default: inside its folder)
        sub = replace(sub, tracking_dir=Path(cfg.tracking_dir) / f"seed-{seed}")
    done = Path(sub.out) / RESULT_FILE
    if cfg.resume and done.is_file():
        progress.log(f"seed {seed}: already done in {sub.out}")
        return json.loads(done.read_text(encoding="utf-8"))
    progress.log(f"seed {seed} ({n + 1} of {count})")
    sub = replace(sub, resume=cfg.resume and Path(sub.out).is_dir())
    return train(sub)
