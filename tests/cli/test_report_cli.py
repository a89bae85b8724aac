"""``distil report show`` and ``distil report compare``."""

from __future__ import annotations

import json
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
