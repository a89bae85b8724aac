"""Report envelope, atomic writing, validation on load, comparison arithmetic."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from distilcli import __version__
from distilcli.errors import BadInput
from distilcli.reports import SCHEMA_VERSION, Report, load_report, write_report
from distilcli.reports.compare import compare_reports, ratio
from distilcli.reports.schema import REQUIRED_KEYS


def make(metrics: dict[str, float], command: str = "models inspect") -> Report:
    return Report.create(command, config={"model": "x"}, metrics=metrics, primary_metric=None, duration_s=1.23456)


def test_envelope_fields(tmp_path: Path) -> None:
    report = make({"a": 1, "b": 0.5})
    path = tmp_path / "r.json"
    write_report(report, path)
    data = json.loads(path.read_text())
    assert list(data) == list(REQUIRED_KEYS)
    assert data["schema_version"] == SCHEMA_VERSION
    assert data["distilcli_version"] == __version__
    assert data["created_at"].endswith("Z")
    assert data["argv"][0] == "distil"
    assert data["duration_s"] == 1.235
    assert {"python", "torch", "transformers", "device", "threads", "git_sha"} <= set(data["env"])


def test_written_exactly_to_output_and_atomically(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "report.json"
    write_report(make({"a": 1}), path)
    assert path.is_file()
    assert [p.name for p in path.parent.iterdir()] == ["report.json"]  # no temp file, no timestamp


def test_failed_write_leaves_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "r.json"
    path.write_text("old")
    import os

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        write_report(make({"a": 1}), path)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_metrics_must_be_numbers() -> None:
    with pytest.raises(TypeError):
        make({"a": "high"})  # type: ignore[dict-item]
    with pytest.raises(ValueError):
        Report.create("x", config={}, metrics={"a": 1}, primary_metric="b", duration_s=0)


def test_roundtrip(tmp_path: Path) -> None:
    report = make({"a": 1, "b": 2.5})
    write_report(report, tmp_path / "r.json")
    assert load_report(tmp_path / "r.json").to_dict() == report.to_dict()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "invalid JSON"),
        ("[1, 2]", "no schema_version"),
        ('{"hello": 1}', "no schema_version"),
        ('{"schema_version": 99}', "schema version 99"),
        ('{"schema_version": 1, "command": "x"}', "missing"),
    ],
)
def test_bad_files_rejected(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "r.json"
    path.write_text(content)
    with pytest.raises(BadInput, match=message):
        load_report(path)


def test_non_numeric_metrics_rejected(tmp_path: Path) -> None:
    data = make({"a": 1}).to_dict()
    data["metrics"] = {"a": "x"}
    path = tmp_path / "r.json"
    path.write_text(json.dumps(data))
    with pytest.raises(BadInput, match="metrics must map names to numbers"):
        load_report(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="does not exist"):
        load_report(tmp_path / "none.json")


def test_compare_ratios() -> None:
    teacher = make({"params": 100.0, "acc": 0.9, "only_teacher": 3})
    student = make({"params": 60.0, "acc": 0.873, "only_student": 1})
    comparison = compare_reports([teacher, student], ["teacher", "student"])
    assert comparison.metric_names == ["params", "acc"]  # a metric of one report is no row of dashes
    assert comparison.only_in == {"teacher": ["only_teacher"], "student": ["only_student"]}
    assert comparison.values["params"] == [100.0, 60.0]
    assert comparison.ratios["params"] == [1.0, 0.6]
    assert comparison.ratios["acc"][1] == pytest.approx(0.97)
    third = make({"acc": 0.5, "only_teacher": 6})
    assert compare_reports([teacher, student, third], list("abc")).ratios["only_teacher"] == [1.0, None, 2.0]


def test_ratio_edge_cases() -> None:
    assert ratio(1.0, 0.0) is None
    assert ratio(None, 1.0) is None
    assert ratio(3.0, 2.0) == 1.5


def test_compare_needs_two() -> None:
    with pytest.raises(ValueError):
        compare_reports([make({"a": 1})], ["a"])


def test_run_compare_report_and_its_body_round_trip(tmp_path: Path) -> None:
    from distilcli.reports.compare import Comparison, run_compare

    paths = []
    for name, value in (("t.json", 4.0), ("s.json", 1.0)):
        write_report(Report.create("x", config={}, metrics={"size": value}, duration_s=0.0), tmp_path / name)
        paths.append(tmp_path / name)
    report = run_compare(paths)
    assert report.command == "report compare" and report.metrics == {"size.ratio1": 0.25}
    comparison = Comparison.from_dict(report.body)
    assert comparison.labels == ["t.json", "s.json"] and comparison.ratios["size"] == [1.0, 0.25]
    assert comparison.to_dict() == report.body
    with pytest.raises(BadInput, match="at least two"):
        run_compare(paths[:1])


def test_report_file_mode_follows_umask(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    write_report(Report.create("x", config={}, metrics={"a": 1}, duration_s=0), path)
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask
