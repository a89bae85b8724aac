"""Quality gates (``--fail-under METRIC=VALUE``) of eval-glue, eval-squad, eval-sts and eval-retrieval.

A gate is parsed before any data or model is read, so a malformed one fails in seconds
(exit 2). A gate names a metric the command will measure, in the report's own scale, or
the command exits 2 before any work: a bar outside the metric's range is refused with the
value likely meant, and a metric no task of the run has is refused with the ones it can
gate. Each outcome is a dict (``gate``, ``metric``, ``bar``, ``value``, ``passed``) that
goes into the report as it is; the command exits 3 when one did not pass. A gate whose
metric was not measured fails: a CI gate must never pass by absence.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from distilcli.errors import BadInput
from distilcli.evaluate.glue_models import glue_task
from distilcli.evaluate.glue_outputs import macro_tasks
from distilcli.tasks.glue.spec import GLUE_TASKS, GlueTask

#: Sub-metric names a GLUE gate may use, with the usual short spellings, and the report key of each.
_METRIC_ALIASES = {
    "accuracy": "accuracy",
    "acc": "accuracy",
    "f1": "f1",
    "matthews_correlation": "matthews_correlation",
    "mcc": "matthews_correlation",
    "matthews": "matthews_correlation",
    "pearson": "pearson",
    "spearmanr": "spearmanr",
    "spearman": "spearmanr",
    "score": "score",
    "retention": "retention",
}
_GLOBAL_ALIASES = {"macro": "macro_score", "macro_score": "macro_score", "macro_retention": "macro_retention"}
#: How errors spell a report key: the short names the docs document (and a gate accepts).
_SHOWN = {"matthews_correlation": "mcc", "spearmanr": "spearman", "macro_score": "macro"}
#: The names docs/commands/eval-glue.md documents for GLUE gates, in its order.
GLUE_GATE_NAMES = ("accuracy", "f1", "mcc", "pearson", "spearman", "score", "retention", "macro", "macro_retention")
AGGREGATES = ("macro_score", "macro_retention")

_FRACTION = (0.0, 1.0, "a fraction from 0 to 1 (0.9 means 90%)")
_CORRELATION = (-1.0, 1.0, "a correlation from -1 to 1")
# Retention is a ratio, not bound to [-1, 1], but a bar above 2 (a student twice its teacher) is a percentage.
_RATIO = (0.0, 2.0, "a ratio to the reference up to 2 (0.97 means 97%)")
_GLUE_RANGES = {
    **dict.fromkeys(("accuracy", "f1"), _FRACTION),
    **dict.fromkeys(("matthews_correlation", "pearson", "spearmanr", "score", "macro_score"), _CORRELATION),
    **dict.fromkeys(("retention", "macro_retention"), _RATIO),
}
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


def check_range(spec: str, name: str, bar: float, scale: tuple[float, float, str]) -> None:
    """Refuse a bar outside the metric's range in the report's scale, with the value likely meant."""
    low, high, words = scale
    if low <= bar <= high:
        return
    guess = next((g for g in (bar / 100, bar * 100) if low <= g <= high), None)
    hint = f"; write {name}={guess:g}" if guess is not None else ""
    raise BadInput(f"--fail-under {spec!r}: {bar:g} is out of range, the report gives {name} as {words}{hint}")


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
        if self.metric in AGGREGATES:
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
            task = glue_task(prefix).name
        metric_key = rest if dot else name
        if metric_key not in _METRIC_ALIASES:
            known = ", ".join(GLUE_GATE_NAMES)
            raise BadInput(f"--fail-under {spec!r}: unknown metric {metric_key!r} (known: {known})")
        metric = _METRIC_ALIASES[metric_key]
        if task is not None and not _has(GLUE_TASKS.get(task), metric):
            entry = GLUE_TASKS.get(task)
            raise BadInput(
                f"--fail-under {spec!r}: {entry.display_name} has no {_shown(metric)} (it has {_task_names(entry)})"
            )
    check_range(spec, name, bar, _GLUE_RANGES[metric])
    return Gate(spec, task, metric, bar)


def _shown(metric: str) -> str:
    return _SHOWN.get(metric, metric)


def _has(task: GlueTask, metric: str) -> bool:
    return metric in ("score", "retention") or metric in task.metrics


def _measures(task: GlueTask, metric: str, teacher: dict[str, float] | None) -> bool:
    """Whether scoring ``task`` gives ``metric`` (a retention needs the task in the teacher's report)."""
    return _has(task, metric) and (metric != "retention" or bool((teacher or {}).get(task.name)))


def _task_names(task: GlueTask) -> str:
    return ", ".join([_shown(m) for m in task.metrics] + ["score"])


def gateable(tasks: list[GlueTask], teacher: dict[str, float] | None) -> str:
    """The metrics a run over ``tasks`` can gate, as the docs spell them."""
    names = [_shown(m) for m in dict.fromkeys(m for task in tasks for m in task.metrics)] + ["score"]
    if teacher is not None:
        names.append("retention")
    if len(tasks) > 1:
        names += ["macro", "macro_retention"] if teacher is not None else ["macro"]
    return ", ".join(names) + f" (or one task's, e.g. {tasks[0].name}.{_shown(tasks[0].metrics[0])})"


def _grouped(missing: dict[str, str]) -> str:
    """``CoLA, RTE (no dev file in --glue-dir G); MRPC (no model ...)``: the missing tasks by reason."""
    by_reason: dict[str, list[str]] = {}
    for name, reason in missing.items():
        by_reason.setdefault(reason, []).append(GLUE_TASKS.get(name).display_name)
    return "; ".join(f"{', '.join(names)} ({reason})" for reason, names in by_reason.items())


def check_targets(
    gates: list[Gate], tasks: list[GlueTask], teacher: dict[str, float] | None, missing: dict[str, str]
) -> None:
    """Every gate names a metric this run will measure, else :class:`BadInput` before any work.

    Called with the tasks asked for (``missing`` empty) before any file is read, and again
    once dev files and models are found (``missing``: each task that cannot be scored, and
    why) before any weights are loaded. An aggregate gate needs every task of its set.
    """
    names = [task.name for task in tasks]
    measured = [task for task in tasks if task.name not in missing]
    for gate in gates:
        if gate.metric in AGGREGATES:
            _check_aggregate(gate, names, teacher, missing)
        elif gate.task is not None:
            display = GLUE_TASKS.get(gate.task).display_name
            if gate.task not in names:
                raise BadInput(
                    f"--fail-under {gate.spec!r}: {display} is not among --task {','.join(names)}: add it to --task, "
                    f"or gate one of {gateable(tasks, teacher)}"
                )
            if gate.task in missing:
                raise BadInput(f"--fail-under {gate.spec!r}: {display} cannot be scored ({missing[gate.task]})")
            if gate.metric == "retention" and teacher is not None and gate.task not in teacher:
                raise BadInput(f"--fail-under {gate.spec!r}: the --teacher-report has no {display} score")
        elif not any(_measures(task, gate.metric, teacher) for task in measured):
            which = f"no task of --task {','.join(names)}"
            if missing:
                which = f"no task that can be scored (not scored: {_grouped(missing)})"
            raise BadInput(
                f"--fail-under {gate.spec!r}: {which} has {_shown(gate.metric)}; "
                f"gate one of {gateable(measured or tasks, teacher)}"
            )


def _check_aggregate(gate: Gate, names: list[str], teacher: dict[str, float] | None, missing: dict[str, str]) -> None:
    """A macro gate needs several tasks, each of them scored (and in the teacher's report, for retention)."""
    plain = gate.metric
    if len(macro_tasks(names)) < 2:
        raise BadInput(
            f"--fail-under {gate.spec!r}: {plain} averages several tasks and --task {','.join(names)} is one: "
            f"gate {names[0]}.{'retention' if plain == 'macro_retention' else 'score'}={gate.bar:g} instead"
        )
    expected = macro_tasks(names)
    lacking = {name: missing[name] for name in expected if name in missing}
    if plain == "macro_retention" and teacher is not None:
        absent = [name for name in expected if name not in lacking and not teacher.get(name)]
        lacking |= dict.fromkeys(absent, "not in --teacher-report")
    if lacking:
        have = [name for name in expected if name not in lacking]
        narrow = f"narrow --task to the tasks you have (--task {','.join(have)})" if have else "narrow --task"
        raise BadInput(
            f"--fail-under {gate.spec!r}: {plain} needs every task of --task and {len(lacking)} of {len(expected)} "
            f"cannot be scored: {_grouped(lacking)}; provide them or {narrow}"
        )


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
    """``f1=80`` / ``em=70`` / ``HasAns_f1=75`` as (report metric, bar); SQuAD reports percentages."""
    name, bar = split_gate(spec, "f1=80 or em=70")
    if 0 < bar < 1:
        raise BadInput(
            f"--fail-under {spec!r}: SQuAD metrics are percentages (80 means 80%); write {name}={bar * 100:g}"
        )
    check_range(spec, name, bar, (0.0, 100.0, "a percentage from 0 to 100 (80 means 80%)"))
    key = _SQUAD_ALIASES.get(name.lower()) or next((m for m in _SQUAD_V2_METRICS if m.lower() == name.lower()), name)
    if key == "exact" and not version_2:
        key = "exact_match"
    known = ("exact_match", "f1") if not version_2 else _SQUAD_V2_METRICS
    if key not in known:
        version = "SQuAD v2.0" if version_2 else "SQuAD v1.1"
        names = ("f1", "em") if not version_2 else ("f1", "em", *_SQUAD_V2_METRICS[2:])
        raise BadInput(f"--fail-under {spec!r}: unknown metric {name!r} for {version} (known: {', '.join(names)})")
    return key, bar


def check_squad_gates(gates: list[tuple[str, float]], metrics: dict[str, float]) -> list[dict[str, Any]]:
    """Each SQuAD gate's outcome; a metric the run did not produce fails its gate."""
    return [gate_outcome(f"{key}={bar:g}", key, bar, metrics.get(key)) for key, bar in gates]


# -- several models side by side (eval-sts, eval-retrieval): every model, or modelN ----------------


@dataclass(frozen=True)
class ModelGate:
    """``--fail-under [modelN.]METRIC=VALUE``; ``model`` None checks every model that has the metric."""

    spec: str
    metric: str
    bar: float
    model: int | None


def parse_model_gate(
    spec: str,
    n_models: int,
    ranges: Mapping[str, tuple[float, float, str]],
    example: str,
    aliases: Mapping[str, str] | None = None,
) -> ModelGate:
    """One gate of a command scoring ``n_models`` models; ``ranges`` names its metrics (retention among them)."""
    name, bar = split_gate(spec, example)
    prefix, dot, metric = name.lower().rpartition(".")
    metric = (aliases or {}).get(metric, metric)
    if metric not in ranges:
        raise BadInput(f"--fail-under {spec!r}: unknown metric {metric!r}; use {', '.join(ranges)}, e.g. {example}")
    model = None
    if dot:
        number = prefix.removeprefix("model")
        if not prefix.startswith("model") or not number.isdigit() or not 1 <= int(number) <= n_models:
            raise BadInput(
                f"--fail-under {spec!r}: {prefix!r} is not a model; use model1 to model{n_models} (the --model order)"
            )
        model = int(number)
    if metric == "retention" and (n_models < 2 or model == 1):
        raise BadInput(f"--fail-under {spec!r}: retention compares a model with the first: pass two --model or more")
    check_range(spec, name, bar, ranges[metric])
    return ModelGate(spec, metric, bar, model)


def check_model_gates(gates: list[ModelGate], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One outcome per gate and model it applies to (``rows``: one per model); a missing value fails."""
    outcomes = []
    for gate in gates:
        numbers = (
            [gate.model] if gate.model else [n for n in range(1, len(rows) + 1) if gate.metric != "retention" or n > 1]
        )
        for number in numbers:
            outcome = gate_outcome(
                gate.spec, f"model{number}.{gate.metric}", gate.bar, rows[number - 1].get(gate.metric)
            )
            outcomes.append(outcome | {"model": rows[number - 1]["model"]})
    return outcomes
