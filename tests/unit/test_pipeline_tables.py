"""Pipeline tables and metrics: every number in tables.md and pipeline.json comes from the stage reports."""

from __future__ import annotations

import json
import re
import statistics
from pathlib import Path

import pytest

from distilcli.pipeline.outputs import write_outputs
from distilcli.pipeline.recipe import parse_recipe
from distilcli.pipeline.state import REPORT_FILE, STATE_FILE
from distilcli.pipeline.stages import Inputs, plan
from distilcli.reports import Report, write_report

RECIPE = {
    "recipe": "t",
    "teacher": "teacher-dir",
    "student": {"layer_map": [0, 2]},
    "arms": ["teacher", "student", "baseline", "no_cos"],
    "glue": {"tasks": {"sst2": {}, "stsb": {}}, "seeds": [1, 2, 3], "int8": True},
    "squad": {"task": "squad", "train_file": "t.json", "dev_file": "d.json"},
    "benchmark": {"batch_sizes": [1], "seq_lengths": [128]},
}
SCORES = {"teacher": (0.90, 0.85), "student": (0.86, 0.80), "baseline": (0.84, 0.70), "no_cos": (0.85, 0.75)}
INT8 = (0.85, 0.79)
SQUAD = {"teacher": (80.0, 87.5), "student": (70.0, 78.25), "baseline": (60.0, 70.5), "student_d": (72.0, 80.0)}


def _finish(out: Path, stages: dict, name: str, report: Report, model: str | None = None) -> None:
    """A finished stage as the runner leaves it (every stage finished at time 1)."""
    (out / name).mkdir(parents=True)
    write_report(report, out / name / REPORT_FILE)
    state = {"status": "done", "fingerprint": stages[name].fingerprint, "model": model, "wall_s": 1.0,
             "finished_at": 1.0, "inputs": {dep: 1.0 for dep in stages[name].deps}}  # fmt: skip
    (out / name / STATE_FILE).write_text(json.dumps(state))


def _report(command: str, metrics: dict[str, float], body: dict | None = None) -> Report:
    return Report.create(command, config={}, metrics=metrics, body=body or {}, duration_s=1.0)


def _benchmark(student: str) -> Report:
    def model(spec: str, quantize: str, params: int, size: float, reduction: float | None) -> dict:
        label = spec if quantize == "none" else f"{spec} [int8]"
        return {"label": label, "model": {"spec": spec}, "backend": "eager", "quantize": quantize, "precision": "fp32",
                "parameters": {"total": params}, "variant_bytes": size, "parameter_reduction": reduction}  # fmt: skip

    models = [model("teacher-dir", "none", 1000, 4e6, None), model("teacher-dir", "dynamic-int8", 1000, 1e6, 0.0),
              model(student, "none", 600, 2.4e6, 0.4), model(student, "dynamic-int8", 600, 0.6e6, 0.4)]  # fmt: skip
    results = [{"label": m["label"], "latency_ms": {"p50": p}, "speedup": s}
               for m, p, s in zip(models, (10.0, 5.0, 5.0, 2.5), (None, 2.0, 2.0, 4.0))]  # fmt: skip
    return _report(
        "benchmark",
        {},
        {"mode": "grid", "models": models, "shapes": [{"batch_size": 1, "seq_length": 128, "results": results}]},
    )


@pytest.fixture
def finished(tmp_path: Path) -> Path:
    recipe = parse_recipe(RECIPE, "t")
    inputs = Inputs(corpus="c.txt", glue_dir="glue")
    fps = {s.name: s for s in plan(recipe, inputs)}
    out = tmp_path / "run"
    _finish(out, fps, "distill", _report("distill", {"loss_final": 1.0}), model=str(out / "distill" / "run"))
    _finish(
        out, fps, "distill-no_cos", _report("distill", {"loss_final": 1.0}), model=str(out / "distill-no_cos" / "run")
    )
    _finish(out, fps, "student-init", _report("models student", {}), model=str(out / "student-init" / "run"))
    for arm, scores in SCORES.items():
        for task, score in zip(("sst2", "stsb"), scores):
            _finish(
                out,
                fps,
                f"glue-{arm}-{task}",
                _report("finetune", {"score": score, "train_examples": 100, "dev_examples": 50}),
            )
    for task, score in zip(("sst2", "stsb"), INT8):
        _finish(out, fps, f"int8-{task}", _report("eval-glue", {f"{task}.score": score}))
    for arm, (em, f1) in SQUAD.items():
        name = "squad-student-d" if arm == "student_d" else f"squad-{arm}"
        _finish(out, fps, name, _report("finetune", {"exact_match": em, "f1": f1}))
    _finish(out, fps, "benchmark", _benchmark(str(out / "distill" / "run")))
    from distilcli.pipeline.outputs import keep_recipe

    keep_recipe(out, recipe, inputs)
    return out


def _row(tables: str, label: str) -> list[str]:
    line = next(line for line in tables.splitlines() if line.startswith(f"| {label} |"))
    return [cell.strip() for cell in line.strip("|").split("|")][1:]


def test_every_number_comes_from_the_stage_reports(finished: Path) -> None:
    recipe = parse_recipe(RECIPE, "t")
    report = write_outputs(finished, recipe, Inputs(corpus="c.txt", glue_dir="glue"), 1.0, {})
    tables = (finished / "tables.md").read_text()
    macro = {arm: statistics.fmean(s) for arm, s in SCORES.items()}
    for arm, label in (
        ("teacher", "teacher"),
        ("student", "student (distilled)"),
        ("baseline", "baseline (not distilled)"),
        ("no_cos", "without L_cos"),
    ):
        sst2, stsb = SCORES[arm]
        assert _row(tables, label) == [
            f"{sst2 * 100:.1f}",
            f"{stsb * 100:.1f}",
            f"{macro[arm] * 100:.1f}",
            f"{macro[arm] / macro['teacher'] * 100:.1f}%",
        ]
        assert report.metrics[f"glue.{arm}.macro"] == pytest.approx(macro[arm])
        assert report.metrics[f"glue.{arm}.macro_retention"] == pytest.approx(macro[arm] / macro["teacher"])
        assert report.metrics[f"glue.{arm}.sst2"] == sst2
    assert _row(tables, "student, dynamic int8")[2] == f"{statistics.fmean(INT8) * 100:.1f}"
    assert _row(tables, "student + task distillation (D)") == ["72.0", "80.0"]
    assert report.metrics["squad.baseline.f1"] == 70.5 and report.metrics["squad.teacher.exact_match"] == 80.0
    # Table 3: the student's benchmark row, with its GLUE macro.
    speed = tables.split("## Table 3")[1]
    assert _row(speed, "student (distilled)") == ["600", "2.4", "0.005", "2.00×", f"{macro['student'] * 100:.1f}"]
    assert _row(speed, "student, dynamic int8") == [
        "600",
        "0.6",
        "0.003",
        "4.00×",
        f"{statistics.fmean(INT8) * 100:.1f}",
    ]
    assert (
        report.metrics["benchmark.student.speedup"] == 2.0
        and report.metrics["benchmark.student.parameter_reduction"] == 0.4
    )
    # Table 4: the ablation's delta in points, beside the paper's.
    delta = macro["no_cos"] - macro["student"]
    assert report.metrics["ablation.no_cos.delta_macro"] == pytest.approx(delta)
    assert _row(tables.split("## Table 4")[1], "without L_cos") == [f"{delta * 100:.2f}", "-1.46"]
    assert report.primary_metric == "glue.student.macro_retention"
    assert re.search(r"median seed of 1, 2, 3 by its primary metric", tables)


def test_a_missing_task_leaves_the_macro_out(finished: Path) -> None:
    (finished / "glue-baseline-stsb" / REPORT_FILE).unlink()
    report = write_outputs(finished, parse_recipe(RECIPE, "t"), Inputs(corpus="c.txt", glue_dir="glue"), 1.0, {})
    assert "glue.baseline.macro" not in report.metrics and "glue.baseline.sst2" in report.metrics
    assert _row((finished / "tables.md").read_text(), "baseline (not distilled)")[1:] == ["—", "—", "—"]
