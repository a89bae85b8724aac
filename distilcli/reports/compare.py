"""Side-by-side comparison of reports, with ratios against the first one (e.g. student/teacher)."""

from __future__ import annotations

from dataclasses import dataclass

from distilcli.reports.schema import Report


@dataclass(frozen=True)
class Comparison:
    """Metric values per report and each report's ratio to the first (the reference)."""

    labels: list[str]
    metric_names: list[str]
    values: dict[str, list[float | None]]
    ratios: dict[str, list[float | None]]

    def to_dict(self) -> dict[str, object]:
        return {
            "labels": self.labels,
            "reference": self.labels[0],
            "metrics": {
                name: {"values": self.values[name], "ratio_to_reference": self.ratios[name]}
                for name in self.metric_names
            },
        }


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
