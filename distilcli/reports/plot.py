"""``distil report plot``: the curves inside reports as a picture, several reports overlaid.

Each report gives lines to named panels, one panel per quantity: a distillation report its loss
terms (``body.loss_curves``), a fine-tuning report (or ``distill --task``) its training loss and
dev metric per seed (``body.runs``), a benchmark report its median latency against sequence
length, one panel per batch size. Reports of the same kind share panels, so a teacher's, a
student's and a baseline's fine-tuning runs come out as three lines in each panel, labelled
from the reports (their output folders, the benchmark's model labels).
``distil benchmark --plot`` draws through :func:`benchmark_panels` and :func:`write_figure` too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from distilcli.errors import BadInput
from distilcli.fsutil import atomic_file

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from distilcli.reports.schema import Report

FORMATS = (".png", ".svg", ".pdf")
PLOTTED = ("distill", "finetune", "benchmark")
#: Long fine-tuning curves are one loss per step: drawn as a running mean over about this many points.
POINTS = 60


@dataclass
class Panel:
    """One quantity: its axes' labels and its lines (label -> (xs, ys))."""

    title: str
    xlabel: str
    ylabel: str
    lines: dict[str, tuple[list[float], list[float]]] = field(default_factory=dict)

    def add(self, label: str, xs: list[float], ys: list[float]) -> None:
        name, n = label, 2
        while name in self.lines:  # two reports with the same name stay two lines
            name, n = f"{label} ({n})", n + 1
        self.lines[name] = (list(xs), list(ys))


def check_target(path: Path) -> None:
    """The output's extension picks the format: .png, .svg or .pdf; else :class:`BadInput`."""
    if Path(path).suffix.lower() not in FORMATS:
        raise BadInput(f"--plot {path}: the picture's format comes from its extension: use .png, .svg or .pdf")


def report_label(report: Report, path: Path | str) -> str:
    """A short name for a report's lines: its run's output folder (with the stage for pipeline ``run`` folders)."""
    out = report.config.get("out") or report.artifacts.get("model") or report.artifacts.get("student")
    folder = Path(str(out)) if out else Path(path).with_suffix("")
    if folder.name == "run" or folder.name.startswith("seed-"):
        return f"{folder.parent.name}/{folder.name}" if folder.name != "run" else folder.parent.name
    return folder.name


def _running_mean(xs: list[float], ys: list[float]) -> tuple[list[float], list[float], int]:
    """Means of consecutive windows (about :data:`POINTS` of them), each at its last step; the window size."""
    size = max(1, len(ys) // POINTS)
    if size == 1:
        return xs, ys, 1
    starts = range(0, len(ys) - size + 1, size)
    return [xs[i + size - 1] for i in starts], [sum(ys[i : i + size]) / size for i in starts], size


def distill_panels(report: Report, label: str, panels: dict[str, Panel]) -> None:
    """A general distillation's loss terms, one panel each (the total first)."""
    curves = report.body["loss_curves"]
    steps = curves["step"]
    for term, values in curves.items():
        if term == "step":
            continue
        title = "total loss" if term == "loss" else f"L_{term}"
        panels.setdefault(f"distill:{term}", Panel(title, "step", "loss (mean over --log-every steps)")).add(
            label, steps, values
        )


def task_panels(report: Report, label: str, panels: dict[str, Panel]) -> None:
    """A task run's training loss and dev metric (each seed a line) from ``body.runs``."""
    primary = report.body.get("primary_metric") or report.primary_metric
    runs = report.body["runs"]
    for run in runs:
        name = f"{label} seed {run['seed']}" if len(runs) > 1 else label
        curve = run["loss_curve"]
        xs, ys, size = _running_mean(curve["step"], curve["loss"])
        ylabel = "loss" if size == 1 else f"loss (mean of {size} steps)"
        panels.setdefault("task:loss", Panel("training loss", "step", ylabel)).add(name, xs, ys)
        history = [e for e in run["history"] if primary in e["metrics"]]
        # --select-on holdout scores a held-out slice of the training data during training (dev once, at the end).
        held_out = run.get("selection", {}).get("on") == "holdout"
        title = f"{primary}, held-out training data" if held_out else f"dev {primary}"
        metric = panels.setdefault(f"task:{primary}", Panel(title, "step", primary))
        metric.add(name, [e["step"] for e in history], [e["metrics"][primary] for e in history])


def short_labels(labels: list[str]) -> dict[str, str]:
    """Model labels that are paths, without the folders they all share (``/tmp/x/teacher`` -> ``teacher``)."""
    import os.path

    paths = [label for label in labels if Path(label).is_absolute()]  # hub ids (org/name) stay as they are
    if len(paths) < 2:
        return {label: Path(label).name if label in paths else label for label in labels}
    common = os.path.commonpath([str(Path(p).parent) for p in paths])
    return {label: os.path.relpath(label, common) if label in paths else label for label in labels}


def benchmark_panels(body: dict[str, Any], prefix: str = "") -> dict[str, Panel]:
    """Median latency against sequence length, a line per model: one panel per batch size (or the paper's STS-B run)."""
    panels: dict[str, Panel] = {}
    rows = body["paper"]["results"] if body["mode"] == "paper" else [r for s in body["shapes"] for r in s["results"]]
    short = short_labels(list(dict.fromkeys(row["label"] for row in rows)))
    if body["mode"] == "paper":
        panel = panels.setdefault(
            "bench:paper", Panel("STS-B dev, batch size 1", "tokens in the pair", "median latency (ms)")
        )
        for row in body["paper"]["results"]:
            points = {int(k): v for k, v in row["by_length_ms"].items()}
            panel.add(prefix + short[row["label"]], sorted(points), [points[x] for x in sorted(points)])
        return panels
    lines: dict[int, dict[str, dict[int, float]]] = {}
    for shape in body["shapes"]:
        for row in shape["results"]:
            lines.setdefault(shape["batch_size"], {}).setdefault(row["label"], {})[shape["seq_length"]] = row[
                "latency_ms"
            ]["p50"]
    for batch, by_label in lines.items():
        panel = panels.setdefault(
            f"bench:{batch}", Panel(f"batch size {batch}", "sequence length (tokens)", "median latency (ms)")
        )
        for label, points in by_label.items():
            panel.add(prefix + short[label], sorted(points), [points[x] for x in sorted(points)])
    return panels


def report_panels(reports: list[tuple[Path, Report]]) -> dict[str, Panel]:
    """Every panel of ``reports`` in order, lines of the same quantity together; :class:`BadInput` for a kind not
    plotted."""
    panels: dict[str, Panel] = {}
    benchmarks = sum(report.command == "benchmark" for _, report in reports)
    for path, report in reports:
        label = report_label(report, path)
        if report.command == "distill" and "loss_curves" in report.body:
            distill_panels(report, label, panels)
        elif report.command in ("finetune", "distill") and "runs" in report.body:
            task_panels(report, label, panels)
        elif report.command == "benchmark":
            for key, panel in benchmark_panels(report.body, f"{label}: " if benchmarks > 1 else "").items():
                target = panels.setdefault(key, Panel(panel.title, panel.xlabel, panel.ylabel))
                for name, (xs, ys) in panel.lines.items():
                    target.add(name, xs, ys)
        else:
            raise BadInput(
                f"{path} is a '{report.command}' report, which has no curves to plot: "
                f"distil report plot draws {', '.join(PLOTTED)} reports"
            )
    return panels


def build_figure(panels: dict[str, Panel], title: str | None = None) -> Figure:
    """A figure with one axes per panel (up to three a row), each line labelled."""
    try:
        import matplotlib
    except ImportError:
        raise BadInput("plots need matplotlib: pip install 'distilcli[plot]'") from None
    matplotlib.use("Agg")  # files only: no display on servers and in CI
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    cols = min(3, len(panels))
    rows = -(-len(panels) // cols)
    fig = Figure(figsize=(5 * cols, 3.8 * rows + (0.4 if title else 0)))
    for n, panel in enumerate(panels.values()):
        ax = fig.add_subplot(rows, cols, n + 1)
        for label, (xs, ys) in panel.lines.items():
            ax.plot(xs, ys, marker="o" if len(xs) < 20 else None, markersize=3, label=label)
        xs_all = sorted({x for xs, _ in panel.lines.values() for x in xs})
        if len(xs_all) <= 8:  # few points (evaluations, benchmark lengths): a tick at each
            ax.set_xticks(xs_all)
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # steps and token counts: no 2.25
        ax.set_title(panel.title)
        ax.set_xlabel(panel.xlabel)
        ax.set_ylabel(panel.ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def write_figure(fig: Figure, path: Path) -> None:
    """Save ``fig`` to ``path`` (.png, .svg or .pdf by its extension), atomically."""
    check_target(path)
    with atomic_file(Path(path), suffix=Path(path).suffix) as tmp:
        fig.savefig(tmp, dpi=120)


def plot_reports(files: list[Path], out: Path) -> Figure:
    """Draw the curves of the reports in ``files`` into ``out``; return the figure (for its panels and labels)."""
    from distilcli.reports.schema import load_report

    check_target(out)
    if not files:
        raise BadInput("give at least one report to plot")
    fig = build_figure(report_panels([(Path(f), load_report(Path(f))) for f in files]))
    write_figure(fig, out)
    return fig
