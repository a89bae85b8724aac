"""``distil report plot``: the panels and lines of each kind of report, overlaid reports, refusals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from distilcli.errors import BadInput
from distilcli.reports import Report, write_report
from distilcli.reports.plot import plot_reports, short_labels

pytest.importorskip("matplotlib")


def _distill(path: Path, out: str) -> Path:
    curves = {
        "step": [10, 20, 30],
        "loss": [3.0, 2.0, 1.5],
        "ce": [1.0, 0.8, 0.6],
        "mlm": [2.0, 1.5, 1.2],
        "cos": [0.3, 0.2, 0.1],
    }
    body = {"loss_curves": curves, "tokens_per_s_curve": [100.0, 110.0, 120.0]}
    write_report(
        Report.create("distill", config={"out": out}, metrics={"loss_final": 1.5}, body=body, duration_s=1), path
    )
    return path


def _run(seed: int, selection: str = "dev") -> dict[str, Any]:
    history = [
        {"step": s, "epoch": s / 4, "train_loss": 0.5, "metrics": {"accuracy": a, "score": a}}
        for s, a in ((4, 0.6), (8, 0.7))
    ]
    return {"seed": seed, "history": history, "loss_curve": {"step": list(range(1, 9)), "loss": [0.7 - 0.05 * i for i in range(8)]},
            "selection": {"on": selection, "fraction": 0.1 if selection == "holdout" else 0.0, "heldout_examples": 0}}  # fmt: skip


def _finetune(
    path: Path, out: str, seeds: tuple[int, ...] = (42,), command: str = "finetune", selection: str = "dev"
) -> Path:
    body = {"task": "sst2", "primary_metric": "accuracy", "runs": [_run(s, selection) for s in seeds]}
    report = Report.create(
        command,
        config={"out": out, "model": "m"},
        metrics={"accuracy": 0.7},
        primary_metric="accuracy",
        body=body,
        duration_s=1,
    )
    write_report(report, path)
    return path


def _benchmark(path: Path) -> Path:
    shapes = [{"batch_size": b, "seq_length": n, "results": [{"label": f"/runs/x/{m}", "latency_ms": {"p50": b * n * k}} for m, k in (("teacher", 2.0), ("student", 1.0))]}
              for b in (1, 8) for n in (32, 128)]  # fmt: skip
    body = {"mode": "grid", "device": "cpu", "device_name": "cpu", "threads": 2, "shapes": shapes}
    write_report(Report.create("benchmark", config={}, metrics={"x": 1.0}, body=body, duration_s=1), path)
    return path


def _panels(fig) -> dict[str, list[str]]:
    return {ax.get_title(): [line.get_label() for line in ax.get_lines()] for ax in fig.axes}


def test_distill_report_has_a_panel_per_loss_term(tmp_path: Path) -> None:
    target = tmp_path / "loss.png"
    fig = plot_reports([_distill(tmp_path / "d.json", "/runs/cpu/distill/run")], target)
    assert _panels(fig) == {"total loss": ["distill"], "L_ce": ["distill"], "L_mlm": ["distill"], "L_cos": ["distill"]}
    (line,) = fig.axes[0].get_lines()
    assert list(line.get_xdata()) == [10, 20, 30] and list(line.get_ydata()) == [3.0, 2.0, 1.5]
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".png"] == ["loss.png"]  # no temp file left


def test_finetune_reports_overlay_teacher_student_baseline(tmp_path: Path) -> None:
    files = [
        _finetune(tmp_path / f"{arm}.json", f"/runs/cpu/glue-{arm}-sst2/run")
        for arm in ("teacher", "student", "baseline")
    ]
    target = tmp_path / "sst2.svg"
    fig = plot_reports(files, target)
    labels = ["glue-teacher-sst2", "glue-student-sst2", "glue-baseline-sst2"]
    assert _panels(fig) == {"training loss": labels, "dev accuracy": labels}
    dev = fig.axes[1].get_lines()[0]
    assert list(dev.get_xdata()) == [4, 8] and list(dev.get_ydata()) == [0.6, 0.7]
    text = target.read_text(encoding="utf-8")
    assert text.lstrip().startswith("<?xml") and "<svg" in text and "glue-baseline-sst2" in text


def test_seeds_task_distillation_and_held_out_selection(tmp_path: Path) -> None:
    seeds = _finetune(tmp_path / "s.json", "/runs/ft", seeds=(1, 2), selection="holdout")
    task = _finetune(tmp_path / "t.json", "/runs/student-d", command="distill", selection="holdout")
    fig = plot_reports([seeds, task], tmp_path / "p.pdf")
    labels = ["ft seed 1", "ft seed 2", "student-d"]
    assert _panels(fig) == {"training loss": labels, "accuracy, held-out training data": labels}
    assert (tmp_path / "p.pdf").read_bytes()[:5] == b"%PDF-"


def test_long_loss_curves_are_drawn_as_running_means(tmp_path: Path) -> None:
    path = _finetune(tmp_path / "f.json", "/runs/ft")
    data = json.loads(path.read_text())
    data["body"]["runs"][0]["loss_curve"] = {"step": list(range(1, 601)), "loss": [1.0] * 300 + [0.0] * 300}
    path.write_text(json.dumps(data))
    fig = plot_reports([path], tmp_path / "f.png")
    (line,) = fig.axes[0].get_lines()
    assert len(line.get_xdata()) == 60 and line.get_xdata()[0] == 10  # means of 10 steps, each at its last step
    assert fig.axes[0].get_ylabel() == "loss (mean of 10 steps)"


def test_benchmark_latency_and_mixed_kinds(tmp_path: Path) -> None:
    fig = plot_reports(
        [_benchmark(tmp_path / "b.json"), _distill(tmp_path / "d.json", "/runs/student")], tmp_path / "mixed.png"
    )
    panels = _panels(fig)
    assert panels["batch size 1"] == panels["batch size 8"] == ["teacher", "student"]
    assert panels["total loss"] == ["student"]
    teacher = fig.axes[list(panels).index("batch size 8")].get_lines()[0]
    assert list(teacher.get_xdata()) == [32, 128] and list(teacher.get_ydata()) == [512.0, 2048.0]


def test_two_benchmarks_name_their_report(tmp_path: Path) -> None:
    a, b = _benchmark(tmp_path / "a.json"), _benchmark(tmp_path / "b.json")
    fig = plot_reports([a, b], tmp_path / "ab.png")
    assert _panels(fig)["batch size 1"] == ["a: teacher", "a: student", "b: teacher", "b: student"]


def test_short_labels() -> None:
    assert short_labels(["/a/b/teacher", "/a/c/student", "bert-base-uncased", "org/model"]) == {
        "/a/b/teacher": "b/teacher", "/a/c/student": "c/student", "bert-base-uncased": "bert-base-uncased", "org/model": "org/model"
    }  # fmt: skip
    assert short_labels(["/x/only"]) == {"/x/only": "only"}


def test_refusals(tmp_path: Path) -> None:
    other = tmp_path / "inspect.json"
    write_report(Report.create("models inspect", config={}, metrics={"parameters_total": 1}, duration_s=0), other)
    with pytest.raises(
        BadInput,
        match="'models inspect' report, which has no curves to plot: distil report plot draws distill, finetune, benchmark",
    ):
        plot_reports([_distill(tmp_path / "d.json", "/r"), other], tmp_path / "x.png")
    with pytest.raises(BadInput, match="use .png, .svg or .pdf"):
        plot_reports([_distill(tmp_path / "d.json", "/r")], tmp_path / "x.jpg")
    assert not list(tmp_path.glob("x.*"))
