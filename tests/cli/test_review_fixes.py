"""Bad input found in review: each gets one error line and exit 2, and writes nothing."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from distilcli.config import build_config
from distilcli.errors import BadInput
from distilcli.models.loading import load_mlm_model
from distilcli.models.student import StudentConfig
from distilcli.reports import Report, write_report
from tests.cli.conftest import assert_one_line_error
from tests.cli.test_basics import ALL_COMMANDS


def run_main(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The real console entry point (usage errors are handled there, not inside typer)."""
    return subprocess.run([sys.executable, "-m", "distilcli", *args], capture_output=True, text=True, cwd=cwd)


@pytest.mark.parametrize(
    "args",
    [
        ["models", "inspect"],
        ["models", "student", "x", "--layers", "abc", "--out", "o"],
        ["models", "--bogus"],
        ["no-such-command"],
    ],
)
def test_usage_errors_are_one_line(args: list[str]) -> None:
    result = run_main(*args)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr


def _help_commands(text: str) -> list[str]:
    """The command names in the "Commands" panel of a rich ``--help`` (first word of each entry)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if "Commands" in line and line.startswith("╭"))
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("╰"))
    return [m.group(1) for line in lines[start + 1 : end] if (m := re.match(r"│ (\S+) ", line))]


def test_help_still_works_through_main() -> None:
    result = run_main("--help")
    assert result.returncode == 0, result.stderr
    # Every command is listed, in the cli's order, and nothing else (a stub would show here too).
    assert _help_commands(result.stdout) == list(ALL_COMMANDS), result.stdout


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('overwrite: "no"\n', "overwrite must be true or false"),
        ('layers: "3"\n', "layers must be an integer"),
        ("layers: true\n", "layers must be an integer"),
        ("layer_map: 5\n", "layer-map must be"),
        ("out: 5\n", "out must be a path"),
    ],
)
def test_config_file_values_are_type_checked(tmp_path: Path, text: str, fragment: str) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("teacher: t\n" + text)
    with pytest.raises(BadInput, match=fragment):
        build_config(StudentConfig, config, out=tmp_path / "o")


def test_output_checked_before_any_work(distil, tiny_models: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "s"
    folder = tmp_path / "reports"
    folder.mkdir()
    for bad in (folder, f"{tmp_path / 'newdir'}/"):
        result = distil("models", "student", tiny_models["bert"], "--layers", "2", "--out", out, "--output", bad)
        assert_one_line_error(result, 2, "is a folder")
        assert not out.exists()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = distil("models", "inspect", tiny_models["bert"], "--output", blocker / "r.json")
    assert_one_line_error(result, 2, "is a file")


def test_report_file_mode_follows_umask(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    write_report(Report.create("x", config={}, metrics={"a": 1}, duration_s=0), path)
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask


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


def test_weights_with_more_layers_than_config(tiny_models: dict[str, Path], tmp_path: Path) -> None:
    folder = tmp_path / "truncated"
    shutil.copytree(tiny_models["bert"], folder)
    config = json.loads((folder / "config.json").read_text())
    config["num_hidden_layers"] = 2
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(BadInput, match="does not describe"):
        load_mlm_model(str(folder))


def test_out_cannot_be_current_folder(distil, tiny_models: dict[str, Path], tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = distil("models", "student", tiny_models["bert"], "--layers", "2", "--out", ".", "--overwrite")
    assert_one_line_error(result, 2, "current folder")
    assert list(tmp_path.iterdir()) == []
