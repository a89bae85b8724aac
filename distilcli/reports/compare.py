"""Side-by-side comparison of reports, with ratios against the first one (e.g. student/teacher)."""

from __future__ import annotations

import time
from dataclasses import dataclass
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

    def to_dict(self) -> dict[str, object]:
        """The report body of ``report compare``."""
        return {
            "labels": self.labels,
            "reference": self.labels[0],
            "metrics": {
                name: {"values": self.values[name], "ratio_to_reference": self.ratios[name]}
                for name in self.metric_names
            },
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
        )


def ratio(value: float | None, reference: float | None) -> float | None:
    """``value / reference``, or None where either is missing or the reference is 0."""
    if value is None or reference is None or reference == 0:
        return None
    return value / reference


def compare_reports(reports: list[Report], labels: list[str]) -> Comparison:
    """Line up every metric of ``reports``; the first report is the reference of the ratios.

    Metrics appear in the order first seen; a metric a report lacks is None there.
    """
    if len(reports) < 2:
        raise ValueError("compare needs at least two reports")
    names: list[str] = []
    for report in reports:
        names.extend(name for name in report.metrics if name not in names)
    values = {name: [report.metrics.get(name) for report in reports] for name in names}
    ratios = {name: [ratio(v, values[name][0]) for v in values[name]] for name in names}
    return Comparison(labels=labels, metric_names=names, values=values, ratios=ratios)


def run_compare(files: list[Path]) -> Report:
    """``distil report compare``: the reports in ``files`` side by side, the first the reference.

    The flat metrics are ``<metric>.ratio<j>``, report j's value over the reference's.
    """
    start = time.perf_counter()
    if len(files) < 2:
        raise BadInput("report compare needs at least two report files: the reference first")
    reports = [load_report(path) for path in files]
    comparison = compare_reports(reports, [path.name for path in files])
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
