"""``run_finetune``: fine-tune a model on one GLUE task or SQuAD, keep the best checkpoint.

The checkpoint is chosen on dev or on held-out training data.

A thin recipe: the task comes from the registry (:func:`distilcli.tasks.registry.get_task`), the
run on it (steps, evaluation on dev or a held-out slice (--select-on), best model, early stopping, resume) is
:func:`distilcli.training.task_run.run_task_training`. The phases: check the options and read
the data, prepare ``--out``, train each seed, report (the median seed with ``--seeds``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from distilcli.config import config_to_dict
from distilcli.finetune.config import RESUMABLE_CHANGES, FinetuneConfig
from distilcli.models.loading import fitting_length
from distilcli.reports import Report
from distilcli.rundir import RunFolder, run_inputs
from distilcli.tasks.registry import TaskEntry, get_task
from distilcli.training.options import check_task_options, parse_select_on
from distilcli.training.run_files import check_model_outside, start_run
from distilcli.training.seeds import parse_seeds, run_seed
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
    entry = check_options(cfg)
    explicit = cfg.max_seq_length is not None
    cfg = replace(cfg, out=Path(cfg.out), max_seq_length=cfg.max_seq_length or entry.default_max_seq_length)
    cfg, data = prepare(cfg, entry, explicit)
    seeds = parse_seeds(cfg.seeds)
    run = RunFolder.of(cfg, COMMAND)
    with run.claim():  # taken once every input has passed its checks, before any weight is read
        start_run(run, cfg)
        if seeds is None:
            results = [
                run_task_training(entry, data, cfg, model=cfg.model, resumable=RESUMABLE_CHANGES, on_step=on_step)
            ]
        else:

            def train(sub: FinetuneConfig) -> dict[str, Any]:
                return run_task_training(
                    entry, data, sub, model=cfg.model, resumable=RESUMABLE_CHANGES, on_step=on_step
                )

            results = [run_seed(cfg, seed, n, len(seeds), train) for n, seed in enumerate(seeds)]
        return build_report(cfg, data, results, time.perf_counter() - start)


def check_options(cfg: FinetuneConfig) -> TaskEntry:
    """The options of fine-tuning alone (no model, no data read); returns the task's entry.

    The command and the pipeline's pre-flight both call it, so a recipe's bad option fails
    ``pipeline --dry-run`` exactly as it would fail the stage.
    """
    check_task_options(cfg)
    parse_seeds(cfg.seeds)
    entry = get_task(cfg.task)
    entry.check_options(cfg)
    return entry


def prepare(cfg: FinetuneConfig, entry: TaskEntry, explicit_length: bool = True) -> tuple[FinetuneConfig, TaskData]:
    """Every check that needs no model, and the data itself: bad rows fail before any weight is read.

    An ``explicit_length`` (--max-seq-length given) must fit the model's positions; a default is cut to
    them (in the returned config).
    """
    run = RunFolder.of(cfg, COMMAND)
    run.check(run_inputs(cfg))
    data = hold_out(entry.load_data(cfg), parse_select_on(cfg.select_on))
    check_model_outside(cfg.model, Path(cfg.out), "--model")
    assert cfg.max_seq_length is not None
    if explicit_length:
        entry.check_model(cfg.model, cfg.max_seq_length)
    else:  # the task's default length, cut to a smaller model's positions
        cfg = replace(cfg, max_seq_length=fitting_length(cfg.model, cfg.max_seq_length))
    run.check_options(cfg, RESUMABLE_CHANGES)
    return cfg, data


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
