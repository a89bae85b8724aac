"""``distil report show`` and ``distil report compare``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from distilcli.reports import Report, write_report
from tests.cli.conftest import assert_one_line_error


def _write(path: Path, metrics: dict[str, float]) -> Path:
    write_report(Report.create("models inspect-like", config={}, metrics=metrics, duration_s=0.1), path)
    return path


def test_show(distil, tmp_path: Path) -> None:
    path = _write(tmp_path / "a.json", {"parameters_total": 1000, "accuracy": 0.5})
    result = distil("report", "show", path)
    assert result.exit_code == 0
    assert "parameters_total" in result.stderr and "1,000" in result.stderr
    as_json = distil("report", "show", path, "--json")
    assert json.loads(as_json.stdout)["metrics"]["accuracy"] == 0.5


def test_show_renders_inspect_reports(distil, tiny_models: dict[str, Path], tmp_path: Path) -> None:
    path = tmp_path / "i.json"
    assert distil("models", "inspect", tiny_models["bert"], "--output", path).exit_code == 0
    result = distil("report", "show", path)
    assert result.exit_code == 0 and "trained MLM head" in result.stderr


def test_compare(distil, tmp_path: Path) -> None:
    teacher = _write(tmp_path / "teacher.json", {"parameters_total": 100.0, "accuracy": 0.9})
    student = _write(tmp_path / "student.json", {"parameters_total": 60.0, "accuracy": 0.9})
    out = tmp_path / "cmp.json"
    result = distil("report", "compare", teacher, student, "--output", out, "--json")
    assert result.exit_code == 0, result.stderr
    assert "0.600×" in result.stderr and "1.000×" in result.stderr
    data = json.loads(out.read_text())
    assert data["command"] == "report compare"
    assert data["metrics"]["parameters_total.ratio1"] == pytest.approx(0.6)
    assert data["body"]["metrics"]["accuracy"]["values"] == [0.9, 0.9]
    assert json.loads(result.stdout) == data
    # The comparison report renders as the same side-by-side table.
    shown = distil("report", "show", out)
    assert shown.exit_code == 0 and "0.600×" in shown.stderr and "ratios are to teacher.json" in shown.stderr


def test_compare_needs_two(distil, tmp_path: Path) -> None:
    only = _write(tmp_path / "a.json", {"x": 1})
    assert_one_line_error(distil("report", "compare", only), 2, "at least two")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [("{}", "not a distilcli report"), ('{"schema_version": 7}', "schema version 7"), ("garbage", "invalid JSON")],
)
def test_bad_report_files(distil, tmp_path: Path, content: str, fragment: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    good = _write(tmp_path / "good.json", {"x": 1})
    assert_one_line_error(distil("report", "show", bad), 2, fragment)
    out = tmp_path / "cmp.json"
    assert_one_line_error(distil("report", "compare", good, bad, "--output", out), 2, fragment)
    assert not out.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [("duration_s", "x"), ("body", []), ("artifacts", []), ("schema_version", True), ("artifacts", {"a": 1})],
)
def test_report_field_types_checked(distil, tmp_path: Path, field: str, value: object) -> None:
    path = tmp_path / "r.json"
    write_report(Report.create("models inspect", config={}, metrics={"a": 1}, duration_s=0), path)
    data = json.loads(path.read_text())
    data[field] = value
    path.write_text(json.dumps(data))
    assert_one_line_error(distil("report", "show", path), 2, "report")


def test_unexpected_body_still_shows_metrics(distil, tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    write_report(Report.create("models inspect", config={}, metrics={"abc": 1}, body={"x": 1}, duration_s=0), path)
    result = distil("report", "show", path)
    assert result.exit_code == 0 and "abc" in result.stderr


def test_compare_labels_runs_by_folder_when_file_names_collide(distil, tmp_path: Path) -> None:
    for run in ("glue-teacher-sst2", "glue-student-sst2", "a/seed-1", "b/seed-1"):
        (tmp_path / run).mkdir(parents=True)
    teacher = _write(tmp_path / "glue-teacher-sst2" / "report.json", {"accuracy": 0.9})
    student = _write(tmp_path / "glue-student-sst2" / "report.json", {"accuracy": 0.8})
    result = distil("report", "compare", teacher, student, "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["body"]["labels"] == ["glue-teacher-sst2", "glue-student-sst2"]
    assert "ratios are to glue-teacher-sst2" in result.stderr
    deeper = [_write(tmp_path / run / "seed-1" / "report.json", {"accuracy": 0.5}) for run in ("a", "b")]
    result = distil("report", "compare", *deeper, teacher, "--json")
    assert json.loads(result.stdout)["body"]["labels"] == ["a/seed-1", "b/seed-1", "glue-teacher-sst2"]


def test_compare_lines_up_a_finetune_report_with_an_eval_glue_one(distil, tmp_path: Path) -> None:
    finetune = tmp_path / "ft.json"
    write_report(Report.create("finetune", config={"task": "SST-2"}, metrics={"accuracy": 0.9, "score": 0.9, "steps": 10.0},
                               body={"task": "sst2"}, duration_s=1), finetune)  # fmt: skip
    evaluated = tmp_path / "eval.json"
    write_report(Report.create("eval-glue", config={}, metrics={"sst2.accuracy": 0.81, "sst2.score": 0.81}, duration_s=1), evaluated)
    result = distil("report", "compare", finetune, evaluated, "--json")
    assert result.exit_code == 0, result.stderr
    body = json.loads(result.stdout)["body"]
    assert list(body["metrics"]) == ["sst2.accuracy", "sst2.score"]
    assert body["metrics"]["sst2.accuracy"]["ratio_to_reference"][1] == pytest.approx(0.9)
    assert "0.900×" in result.stderr and "only in ft.json: steps" in result.stderr
    assert not re.search(r"│\s*—\s*│", result.stderr)  # no cell of dashes


def test_compare_with_nothing_in_common_says_so(distil, tmp_path: Path) -> None:
    a = _write(tmp_path / "a.json", {"accuracy": 0.9})
    b = _write(tmp_path / "b.json", {"spearman": 0.8})
    assert_one_line_error(distil("report", "compare", a, b), 2, "nothing to compare", "a.json", "spearman")
