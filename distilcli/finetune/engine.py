"""``run_finetune``: fine-tune a model on one GLUE task or SQuAD, keep the best checkpoint (chosen on dev or held-out training data).

A thin recipe: the task comes from the registry (:func:`distilcli.tasks.registry.get_task`), the
run on it (steps, evaluation on dev or a held-out slice (--select-on), best model, early stopping, resume) is
:func:`distilcli.training.task_run.run_task_training`. The phases: check the options and read
the data, prepare ``--out``, train each seed, report (the median seed with ``--seeds``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from distilcli import progress
from distilcli.config import config_to_dict
from distilcli.errors import BadInput
from distilcli.finetune.config import RESUMABLE_CHANGES, FinetuneConfig
from distilcli.models.loading import fitting_length
from distilcli.reports import Report
from distilcli.rundir import run_inputs, run_lock
from distilcli.tasks.registry import TaskEntry, get_task
from distilcli.training.options import check_task_options, parse_select_on
from distilcli.training.run_files import (
    RESULT_FILE,
    check_model_outside,
    check_out_dir,
    check_run_config,
    start_run,
)
from distilcli.training.selection import hold_out
from distilcli.training.task_protocols import TaskData
from distilcli.training.task_run import run_task_training
from distilcli.training.task_summary import summarise

#: The command named in the run folder's marker (a --resume must be one of its runs).
COMMAND = "finetune"


def run_finetune(cfg: FinetuneConfig, on_step: Callable[[int], None] | None = None) -> Report:
    """Fine-tune (one seed, or each of ``--seeds`` with the median reported); return the report.

    ``on_step(step)`` is called after every optimizer step (tests use it to interrupt a run).
    """
    start = time.perf_counter()
    check_task_options(cfg)
    entry = get_task(cfg.task)
    explicit = cfg.max_seq_length is not None
    cfg = replace(cfg, out=Path(cfg.out), max_seq_length=cfg.max_seq_length or entry.default_max_seq_length)
    cfg, data = prepare(cfg, entry, explicit)
    seeds = parse_seeds(cfg.seeds)
    with run_lock(cfg.out):  # taken once every input has passed its checks, before any weight is read
        start_run(cfg, COMMAND)
        if seeds is None:
            results = [run_task_training(entry, data, cfg, model=cfg.model, resumable=RESUMABLE_CHANGES, on_step=on_step)]
        else:
            results = [run_seed(cfg, entry, data, seed, n, len(seeds), on_step) for n, seed in enumerate(seeds)]
        return build_report(cfg, data, results, time.perf_counter() - start)


def prepare(cfg: FinetuneConfig, entry: TaskEntry, explicit_length: bool = True) -> tuple[FinetuneConfig, TaskData]:
    """Every check that needs no model, and the data itself: bad rows fail before any weight is read.

    An ``explicit_length`` (--max-seq-length given) must fit the model's positions; a default is cut to
    them (in the returned config).
    """
    parse_seeds(cfg.seeds)
    check_out_dir(Path(cfg.out), cfg.resume, cfg.overwrite, COMMAND, run_inputs(cfg))
    data = hold_out(entry.load_data(cfg), parse_select_on(cfg.select_on))
    check_model_outside(cfg.model, Path(cfg.out), "--model")
    assert cfg.max_seq_length is not None
    if explicit_length:
        entry.check_model(cfg.model, cfg.max_seq_length)
    else:  # the task's default length, cut to a smaller model's positions
        cfg = replace(cfg, max_seq_length=fitting_length(cfg.model, cfg.max_seq_length))
    if cfg.resume:
        check_run_config(cfg.out, cfg, RESUMABLE_CHANGES)
    return cfg, data


def run_seed(
    cfg: FinetuneConfig, entry: TaskEntry, data: TaskData, seed: int, n: int, count: int, on_step: Callable[[int], None] | None
) -> dict[str, Any]:
    """One seed of ``--seeds`` in ``out/seed-N``; a seed already done is read back on --resume."""
    sub = replace(cfg, seed=seed, seeds=None, out=cfg.out / f"seed-{seed}", overwrite=False)
    if cfg.tracking_dir is not None:  # each seed its own run beside the others (default: inside its folder)
        sub = replace(sub, tracking_dir=Path(cfg.tracking_dir) / f"seed-{seed}")
    done = sub.out / RESULT_FILE
    if cfg.resume and done.is_file():
        progress.log(f"seed {seed}: already done in {sub.out}")
        return json.loads(done.read_text(encoding="utf-8"))
    progress.log(f"seed {seed} ({n + 1} of {count})")
    sub = replace(sub, resume=cfg.resume and sub.out.is_dir())
    return run_task_training(entry, data, sub, model=cfg.model, resumable=RESUMABLE_CHANGES, on_step=on_step)


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


def build_report(cfg: FinetuneConfig, data: TaskData, results: list[dict[str, Any]], duration: float) -> Report:
    """The ``finetune`` report: the median seed's metrics and model, every seed's run in the body."""
    summary = summarise(data, results, cfg.train_limit)
    return Report.create(
        "finetune",
        config=config_to_dict(cfg),
        metrics=summary.metrics,
        primary_metric=data.spec.primary_metric,
        artifacts=summary.artifacts,
        body=summary.body,
        duration_s=duration,
    )
