"""A run's folder: its recorded options (checked on --resume), its result file, what may not live inside it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from distilcli.config import check_unchanged, config_to_dict
from distilcli.errors import BadInput
from distilcli.rundir import MARKER
from distilcli.training.options import TrainOptions

RESULT_FILE = "finetune_result.json"
RUN_CONFIG = "run_config.json"


def record_run_config(out: Path, cfg: TrainOptions) -> None:
    """Keep the run's options in ``out`` so a later --resume can be checked against them."""
    from distilcli.fsutil import atomic_write_text

    Path(out).mkdir(parents=True, exist_ok=True)
    atomic_write_text(Path(out) / RUN_CONFIG, json.dumps(config_to_dict(cfg), indent=2))


def check_run_config(out: Path, cfg: TrainOptions, resumable: frozenset[str]) -> None:
    """On --resume: the options must be the recorded run's, apart from ``resumable`` ones."""
    path = Path(out) / RUN_CONFIG
    if not path.is_file():
        return
    check_unchanged(json.loads(path.read_text(encoding="utf-8")), cfg, resumable)


def start_run(cfg: TrainOptions, command: str) -> None:
    """Once every process has checked its inputs: (main process) clear the run --overwrite replaces, record this one's.

    The folder is marked as ``command``'s, so a later --overwrite may replace it. A resumed run
    keeps its folder; its options were checked against the record before any weight was read.
    """
    import torch
    from accelerate import PartialState

    from distilcli.rundir import prepare_run_folder, write_marker
    from distilcli.training.runtime import is_main_process

    # Every process has checked --out before rank 0 deletes it or writes into it.
    PartialState(cpu=not torch.cuda.is_available()).wait_for_everyone()
    if is_main_process():
        if not cfg.resume:
            # With --overwrite, distilcli's own old run is emptied: no old file mixes with this run's.
            prepare_run_folder(Path(cfg.out), cfg.overwrite, command)
            record_run_config(Path(cfg.out), cfg)
        elif not (Path(cfg.out) / MARKER).is_file():
            write_marker(Path(cfg.out), command)  # a run from before the marker: it is one of ours


def check_out_dir(out: Path, resume: bool, overwrite: bool, command: str, inputs: Mapping[str, Any] | None = None) -> None:
    """--resume: ``out`` must be a ``command`` run; otherwise new, empty, or distilcli's and confirmed by --overwrite.

    ``inputs`` (option -> value) must not lie inside an ``out`` that --overwrite replaces.
    """
    from distilcli.rundir import check_output_dir, marker_command

    if not resume:
        check_output_dir(Path(out), overwrite, inputs)
        return
    if not Path(out).is_dir():
        raise BadInput(f"--resume: {out} does not exist: start without --resume")
    if not (Path(out) / RUN_CONFIG).is_file():
        raise BadInput(f"--resume: {out} is not a {command} run folder (no {RUN_CONFIG}): start without --resume, in a new folder")
    made_by = marker_command(Path(out))
    if made_by is not None and made_by != command:
        raise BadInput(f"--resume: {out} is a '{made_by}' run folder, not a {command} run: resume it with its own command")


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
