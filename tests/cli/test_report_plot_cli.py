"""``distil report plot`` on the command line: the picture, and one line with exit 2 for what it cannot draw."""

from __future__ import annotations

from pathlib import Path

import pytest

from distilcli.reports import Report, write_report
from tests.cli.conftest import assert_one_line_error

pytest.importorskip("matplotlib")


def _distill(path: Path) -> Path:
    body = {"loss_curves": {"step": [1, 2], "loss": [2.0, 1.0], "cos": [0.5, 0.4]}}
    write_report(
        Report.create("distill", config={"out": "/runs/student"}, metrics={"loss_final": 1.0}, body=body, duration_s=1),
        path,
    )
    return path


def test_plot_writes_the_picture(distil, tmp_path: Path) -> None:
    result = distil("report", "plot", _distill(tmp_path / "d.json"), "--plot", tmp_path / "loss.png")
    assert result.exit_code == 0, result.stderr
    assert "loss.png (2 panels: total loss, L_cos)" in result.stderr
    assert (tmp_path / "loss.png").read_bytes()[:4] == b"\x89PNG"


def test_a_kind_it_cannot_plot_is_exit_2(distil, tmp_path: Path) -> None:
    other = tmp_path / "eval.json"
    write_report(Report.create("eval-glue", config={}, metrics={"sst2.accuracy": 0.9}, duration_s=0), other)
    result = distil("report", "plot", _distill(tmp_path / "d.json"), other, "--plot", tmp_path / "x.png")
    assert_one_line_error(result, 2, "'eval-glue' report", "distill, finetune, benchmark")
    assert not (tmp_path / "x.png").exists()
    assert_one_line_error(
        distil("report", "plot", tmp_path / "missing.json", "--plot", tmp_path / "x.png"), 2, "does not exist"
    )
    assert_one_line_error(
        distil("report", "plot", tmp_path / "d.json", "--plot", tmp_path / "x.gif"), 2, ".png, .svg or .pdf"
    )
