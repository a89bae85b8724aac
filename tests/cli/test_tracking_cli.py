"""``--report-to`` on the command line: a tracker that is not installed is one line, exit 2."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.cli.conftest import assert_one_line_error


@pytest.mark.skipif(importlib.util.find_spec("wandb") is not None, reason="wandb is installed here")
@pytest.mark.parametrize("command", ["distill", "finetune"])
def test_an_uninstalled_tracker_is_one_line(distil, command: str, tmp_path: Path) -> None:
    model = (
        ["--teacher", tmp_path / "nowhere", "--corpus", tmp_path / "c.txt"]
        if command == "distill"
        else ["--model", tmp_path / "nowhere", "--task", "sst2"]
    )
    result = distil(command, *model, "--out", tmp_path / "out", "--report-to", "tensorboard,wandb")
    assert_one_line_error(result, 2, "--report-to wandb", "pip install wandb", "distilcli[tracking]")
    assert not (tmp_path / "out").exists()


def test_an_unknown_tracker_is_one_line(distil, tmp_path: Path) -> None:
    result = distil(
        "finetune", "--model", tmp_path / "m", "--task", "sst2", "--out", tmp_path / "o", "--report-to", "comet"
    )
    assert_one_line_error(result, 2, "unknown --report-to 'comet'", "tensorboard, wandb, mlflow, trackio")
