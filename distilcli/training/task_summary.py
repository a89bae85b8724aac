"""The figures of one or more task runs (seeds) as a report's metrics and body: the median seed's model."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from distilcli.training.task_protocols import TaskData


@dataclass
class TaskSummary:
    metrics: dict[str, float]
    body: dict[str, Any]
    artifacts: dict[str, str]


def median_metrics(results: list[dict[str, Any]]) -> dict[str, float]:
    """The median over seeds of each best-checkpoint metric (the DistilBERT paper's protocol)."""
    names = results[0]["best"]["metrics"].keys()
    return {name: float(statistics.median(r["best"]["metrics"][name] for r in results)) for name in names}


def summarise(data: TaskData, results: list[dict[str, Any]], train_limit: int | None) -> TaskSummary:
    """Metrics, body and artifacts of the runs: the median seed's figures, which describe one model."""
    spec = data.spec
    primary = spec.primary_metric
    # The seed whose best primary metric is the median (the lower middle one for an even count);
    # its metrics are reported together, so they describe one model (the one in artifacts.model).
    ranked = sorted(results, key=lambda r: r["best"]["metrics"][primary])
    median_run = ranked[(len(ranked) - 1) // 2]
    metrics: dict[str, float] = {
        **median_run["best"]["metrics"],
        "train_examples": len(data.train_examples),
        "dev_examples": len(data.dev.examples),
        "steps": median_run["steps"],
        "best_step": median_run["best"]["step"],
        "wall_s": sum(r["wall_s"] for r in results),
        "train_examples_per_s": float(statistics.median(r["train_examples_per_s"] for r in results)),
        "seeds": len(results),
    }
    body = {
        "task": spec.name,
        "task_display": spec.display_name,
        "primary_metric": primary,
        "train_source": data.train.source,
        "dev_source": data.dev.source,
        "train_limit": train_limit,
        "train_total": len(data.train.examples),
        "median_seed": median_run["seed"],
        "median_of_each_metric": median_metrics(results),
        "model_dir": median_run["out"],
        "optimizer": median_run.get("optimizer"),
        "selection": median_run.get("selection", {"on": "dev"}),
        "runs": results,
    }
    artifacts = {"model": median_run["out"]}
    if len(results) > 1:
        artifacts |= {f"seed-{r['seed']}": r["out"] for r in results}
    return TaskSummary(metrics, body, artifacts)
