"""Quality gates (``--fail-under METRIC=VALUE``) of eval-glue and eval-squad.

A gate is parsed before any data or model is read, so a malformed one fails in seconds
(exit 2). Each outcome is a dict (``gate``, ``metric``, ``bar``, ``value``, ``passed``)
that goes into the report as it is; the command exits 3 when one did not pass. A gate
whose metric was not measured fails: a CI gate must never pass by absence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from distilcli.errors import BadInput
from distilcli.tasks.glue.spec import GLUE_TASKS, resolve_task

#: Sub-metric names a GLUE gate may use, with the usual short spellings.
_METRIC_ALIASES = {
    "accuracy": "accuracy", "acc": "accuracy", "f1": "f1",
    "matthews_correlation": "matthews_correlation", "mcc": "matthews_correlation", "matthews": "matthews_correlation",
    "pearson": "pearson", "spearmanr": "spearmanr", "spearman": "spearmanr",
    "score": "score", "retention": "retention",
}  # fmt: skip
_GLOBAL_ALIASES = {"macro": "macro_score", "macro_score": "macro_score", "macro_retention": "macro_retention"}
_SQUAD_ALIASES = {"em": "exact", "exact_match": "exact", "exact": "exact", "f1": "f1"}
_SQUAD_V2_METRICS = ("exact", "f1", "HasAns_exact", "HasAns_f1", "NoAns_exact", "NoAns_f1", "best_exact", "best_f1")


def split_gate(spec: str, example: str) -> tuple[str, float]:
    """``METRIC=VALUE`` as (the metric name as written, a finite bar); ``example`` shows the form in errors."""
    name, sep, raw = spec.partition("=")
    name = name.strip()
    if not sep or not name:
        raise BadInput(f"--fail-under {spec!r}: expected METRIC=VALUE, e.g. {example}")
    try:
        bar = float(raw)
    except ValueError:
        raise BadInput(f"--fail-under {spec!r}: {raw.strip()!r} is not a number") from None
    if not math.isfinite(bar):
        raise BadInput(f"--fail-under {spec!r}: the bar must be a finite number")
    return name, bar


def gate_outcome(spec: str, metric: str, bar: float, value: float | None) -> dict[str, Any]:
    """One gate's line in the report."""
    if value is None:
        return {"gate": spec, "metric": metric, "bar": bar, "value": None, "passed": False, "reason": "not measured"}
    return {"gate": spec, "metric": metric, "bar": bar, "value": value, "passed": value >= bar}


# -- GLUE: fractions, per task or over all tasks ---------------------------------------------------


@dataclass(frozen=True)
class Gate:
    """A GLUE ``--fail-under METRIC=VALUE``: ``task`` None means every evaluated task with that metric."""

    spec: str
    task: str | None
    metric: str
    bar: float

    def keys(self, metrics: dict[str, float], evaluated: list[str]) -> list[str]:
        """The report metrics this gate checks."""
        if self.metric in ("macro_score", "macro_retention"):
            return [self.metric]
        if self.task is not None:
            return [f"{self.task}.{self.metric}"]
        return [f"{task}.{self.metric}" for task in evaluated if f"{task}.{self.metric}" in metrics]


def parse_gate(spec: str) -> Gate:
    """Parse ``accuracy=0.9``, ``sst2.accuracy=0.9``, ``macro=0.75`` or ``retention=0.97``."""
    name, bar = split_gate(spec, "accuracy=0.9 or sst2.accuracy=0.9")
    name = name.lower()
    task: str | None = None
    if name in _GLOBAL_ALIASES:
        metric = _GLOBAL_ALIASES[name]
    else:
        prefix, dot, rest = name.rpartition(".")
        if dot:
            task = resolve_task(prefix).name
        metric_key = rest if dot else name
        if metric_key not in _METRIC_ALIASES:
            known = ", ".join(sorted({*_METRIC_ALIASES.values(), "macro"}))
            raise BadInput(f"--fail-under {spec!r}: unknown metric {metric_key!r} (known: {known})")
        metric = _METRIC_ALIASES[metric_key]
        if task is not None and metric not in ("score", "retention") and metric not in GLUE_TASKS.get(task).metrics:
            entry = GLUE_TASKS.get(task)
            have = ", ".join(entry.metrics)
            raise BadInput(f"--fail-under {spec!r}: {entry.display_name} has no {metric} (it has {have}, score)")
    if "retention" not in metric and abs(bar) > 1:
        raise BadInput(f"--fail-under {spec!r}: metrics are fractions (0.9 means 90%); write {name}={bar / 100:g}")
    return Gate(spec, task, metric, bar)


def check_gates(gates: list[Gate], metrics: dict[str, float], evaluated: list[str]) -> list[dict[str, Any]]:
    """Each GLUE gate's outcome, one per metric it covers; a gate whose metric was not produced fails."""
    outcomes = []
    for gate in gates:
        keys = gate.keys(metrics, evaluated)
        if not keys or any(key not in metrics for key in keys):
            outcomes.append(gate_outcome(gate.spec, ", ".join(keys) or gate.metric, gate.bar, None))
            continue
        outcomes += [gate_outcome(gate.spec, key, gate.bar, metrics[key]) for key in keys]
    return outcomes


# -- SQuAD: percentages, one metric of the report --------------------------------------------------


def parse_squad_gate(spec: str, version_2: bool) -> tuple[str, float]:
    """``f1=80`` / ``em=70`` / ``HasAns_f1=75`` as (report metric, bar); SQuAD metrics are percentages."""
    name, bar = split_gate(spec, "f1=80 or em=70")
    if 0 < bar < 1:
        raise BadInput(
            f"--fail-under {spec!r}: SQuAD metrics are percentages (80 means 80%); write {name}={bar * 100:g}"
        )
    key = _SQUAD_ALIASES.get(name.lower()) or next((m for m in _SQUAD_V2_METRICS if m.lower() == name.lower()), name)
    if key == "exact" and not version_2:
        key = "exact_match"
    known = ("exact_match", "f1") if not version_2 else _SQUAD_V2_METRICS
    if key not in known:
        version = "SQuAD v2.0" if version_2 else "SQuAD v1.1"
        raise BadInput(f"--fail-under {spec!r}: unknown metric {name!r} for {version} (known: {', '.join(known)})")
    return key, bar


def check_squad_gates(gates: list[tuple[str, float]], metrics: dict[str, float]) -> list[dict[str, Any]]:
    """Each SQuAD gate's outcome; a metric the run did not produce fails its gate."""
    return [gate_outcome(f"{key}={bar:g}", key, bar, metrics.get(key)) for key, bar in gates]
