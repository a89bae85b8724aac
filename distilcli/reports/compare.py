"""Side-by-side comparison of reports, with ratios against the first one (e.g. student/teacher).

Reports of different kinds line up: a fine-tuning or task-distillation report names its dev
metrics plainly (``accuracy``), eval-glue by task (``sst2.accuracy``), so the plain ones take
their task's prefix when another report has that name. Only metrics found in two reports or
more are compared; when none is, the comparison is refused in one line.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from distilcli.errors import BadInput
from distilcli.reports.schema import Report, load_report


@dataclass(frozen=True)
class Comparison:
    """Metric values per report and each report's ratio to the first (the reference)."""

    labels: list[str]
    metric_names: list[str]
    values: dict[str, list[float | None]]
    ratios: dict[str, list[float | None]]
    #: Metrics found in one report only (left out of the table), by report label.
    only_in: dict[str, list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """The report body of ``report compare``."""
        return {
            "labels": self.labels,
            "reference": self.labels[0],
            "metrics": {
                name: {"values": self.values[name], "ratio_to_reference": self.ratios[name]}
                for name in self.metric_names
            },
            "only_in": self.only_in,
        }

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> Comparison:
        """Back from :meth:`to_dict` (a ``report compare`` body)."""
        metrics = body["metrics"]
        return cls(
            labels=list(body["labels"]),
            metric_names=list(metrics),
            values={name: list(m["values"]) for name, m in metrics.items()},
            ratios={name: list(m["ratio_to_reference"]) for name, m in metrics.items()},
            only_in={label: list(names) for label, names in body.get("only_in", {}).items()},
        )


def ratio(value: float | None, reference: float | None) -> float | None:
    """``value / reference``, or None where either is missing or the reference is 0."""
    if value is None or reference is None or reference == 0:
        return None
    return value / reference


def _task_of(report: Report) -> str | None:
    """The task a fine-tuning or task-distillation report scored (canonical, as eval-glue names it)."""
    task = report.body.get("task") if report.command in ("finetune", "distill") else None
    return task if isinstance(task, str) and task else None


def line_up(reports: list[Report]) -> list[dict[str, float]]:
    """Each report's metrics, a plain ``accuracy`` of a ``sst2`` task report renamed ``sst2.accuracy``
    where another report has that name (an eval-glue report), so the same measurement shares a row."""
    every = {name for report in reports for name in report.metrics}
    lined: list[dict[str, float]] = []
    for report in reports:
        task = _task_of(report)
        if task is None:
            lined.append(dict(report.metrics))
            continue
        prefixed = {f"{task}.{name}" for name in report.metrics if "." not in name} & every
        lined.append({f"{task}.{n}" if f"{task}.{n}" in prefixed else n: v for n, v in report.metrics.items()})
    return lined


def compare_reports(reports: list[Report], labels: list[str]) -> Comparison:
    """Line up the metrics of ``reports`` found in two or more; the first report is the reference of the ratios.

    Metrics appear in the order first seen; a metric a report lacks is None there. Metrics of
    one report only are listed in ``only_in``; when no metric is in two reports, :class:`BadInput`.
    """
    if len(reports) < 2:
        raise ValueError("compare needs at least two reports")
    metrics = line_up(reports)
    names: list[str] = []
    for report_metrics in metrics:
        names.extend(name for name in report_metrics if name not in names)
    shared = [name for name in names if sum(name in m for m in metrics) > 1]
    only_in = {label: [n for n in m if n not in shared] for label, m in zip(labels, metrics, strict=True)}
    if not shared:
        kinds = "; ".join(
            f"{label}, {r.command}: {_sample(m)}" for label, r, m in zip(labels, reports, metrics, strict=True)
        )
        raise BadInput(
            f"nothing to compare: no metric is in two of these reports ({kinds}); "
            "compare reports that measure the same things (e.g. eval-glue reports of the teacher and the student)"
        )
    values = {name: [m.get(name) for m in metrics] for name in shared}
    ratios = {name: [ratio(v, values[name][0]) for v in values[name]] for name in shared}
    only_in = {label: names for label, names in only_in.items() if names}
    return Comparison(labels=labels, metric_names=shared, values=values, ratios=ratios, only_in=only_in)


def _sample(metrics: dict[str, float]) -> str:
    """A few metric names of a report, for an error line."""
    names = list(metrics)
    return ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "") if names else "no metrics"


def labels_for(files: list[Path]) -> list[str]:
    """Column labels: the file names, and where they collide (every pipeline stage writes report.json)
    the run folder holding each, with as many parent folders as it takes to tell them apart."""
    parts = [Path(path).resolve().parts for path in files]
    labels = [Path(path).name for path in files]
    for depth in range(2, max(len(p) for p in parts)):
        counts = Counter(labels)
        if len(counts) == len(labels):
            break
        # runs/cpu/glue-student-sst2/report.json -> glue-student-sst2, then cpu/glue-student-sst2 ...
        labels = [
            "/".join(p[-depth:-1]) if counts[label] > 1 else label for p, label in zip(parts, labels, strict=True)
        ]
    return labels


def run_compare(files: list[Path]) -> Report:
    """``distil report compare``: the reports in ``files`` side by side, the first the reference.

    The flat metrics are ``<metric>.ratio<j>``, report j's value over the reference's.
    """
    start = time.perf_counter()
    if len(files) < 2:
        raise BadInput("report compare needs at least two report files: the reference first")
    reports = [load_report(path) for path in files]
    comparison = compare_reports(reports, labels_for(files))
    metrics = {
        f"{name}.ratio{j}": r
        for name in comparison.metric_names
        for j, r in enumerate(comparison.ratios[name])
        if j and r is not None
    }
    return Report.create(
        "report compare",
        config={"files": [str(path) for path in files]},
        metrics=metrics,
        body=comparison.to_dict(),
        duration_s=time.perf_counter() - start,
    )
