"""The CLI contract's help and names: named panels, flags without a type, help true for its command, list options.

Every option of every command (and of the groups) sits in one of the named panels; a flag shows no
``<bool>`` (it takes no value); a help string borrowed from another command is gone; ``--out`` is a
folder, ``-o/--output`` the report, ``--plot`` a picture; every list option takes repetition and commas.
"""

from __future__ import annotations

import re

import pytest
import typer
import yaml
from typer.testing import CliRunner

from distilcli.cli import app
from distilcli.commands._options import split_list
from distilcli.commands._panels import PANELS

from .conftest import assert_one_line_error


def _walk(command: object, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], object]:
    """Every command and group of the CLI, by path (the root is ``()``)."""
    found = {path: command}
    for name, sub in (getattr(command, "commands", None) or {}).items():
        found |= _walk(sub, (*path, name))
    return found


COMMANDS = _walk(typer.main.get_command(app))


def _help(path: tuple[str, ...]) -> str:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200", "TERMINAL_WIDTH": "200"})
    assert result.exit_code == 0, result.output
    return " ".join(result.stdout.replace("│", " ").split())  # wrapped rows joined


def _options_panels(help_text: str) -> list[str]:
    return re.findall(r"╭─ (.+?) ─", help_text)


@pytest.mark.parametrize("path", list(COMMANDS), ids=lambda p: " ".join(p) or "distil")
def test_every_option_sits_in_a_named_panel(path: tuple[str, ...]) -> None:
    command = COMMANDS[path]
    ctx = typer.main.get_command(app).make_context("distil", [], resilient_parsing=True)
    help_text = _help(path)  # showing help puts typer's own options (--help, completion) in their panel
    for param in command.get_params(ctx):  # type: ignore[attr-defined]
        if param.param_type_name != "option":
            continue
        assert getattr(param, "rich_help_panel", None) in PANELS, (path, param.opts)
    # No option left in typer's catch-all "Options" panel.
    assert "Options" not in _options_panels(help_text), (path, _options_panels(help_text))


@pytest.mark.parametrize("path", list(COMMANDS), ids=lambda p: " ".join(p) or "distil")
def test_flags_show_no_type(path: tuple[str, ...]) -> None:
    assert "<bool>" not in _help(path)


def test_training_help_is_grouped() -> None:
    panels = _options_panels(_help(("distill",)))
    assert panels == ["Model", "Data", "Task", "Losses", "Optimisation", "Evaluation", "Tracking", "Run and output"]
    assert set(_options_panels(_help(("finetune",)))) <= set(PANELS)


#: Help text that was true for another command than the one it was shown in.
BORROWED = {
    ("eval-glue",): ["squad", "SQuAD", "training: per micro-batch", "f1=80", "spearman"],
    ("eval-squad",): ["training: per micro-batch", "GLUE layout", "sst2.accuracy", "spearman"],
    ("eval-sts",): ["training: per micro-batch", "SQuAD", "sst2.accuracy", "f1=80"],
    ("eval-retrieval",): ["training: per micro-batch", "sst2.accuracy", "f1=80", "spearman", "pairs"],
    ("benchmark",): ["suggest-layers", "heat map", "no (training)"],
    ("models", "suggest-layers"): ["benchmark", "median latency", "teacher layers spread evenly"],
    ("pipeline",): ["the model (top level), checkpoints", "SQuAD", "f1=80"],
    ("models", "student"): ["checkpoints"],
    ("distill",): ["fp32 (benchmark)", "benchmark takes both", "distill, models student:"],
    ("finetune",): ["fp32 (benchmark)", "benchmark takes both"],
    ("export",): ["SQuAD", "training: per micro-batch", "the model (top level), checkpoints", "benchmark takes both"],
}


@pytest.mark.parametrize("path", list(BORROWED), ids=" ".join)
def test_help_is_true_for_its_command(path: tuple[str, ...]) -> None:
    help_text = _help(path)
    for borrowed in BORROWED[path]:
        assert borrowed not in help_text, (path, borrowed)


def test_names_mean_one_thing() -> None:
    for path, command in COMMANDS.items():
        for param in getattr(command, "params", []):
            if "--out" in param.opts:
                assert "folder" in (param.help or "") and "picture" not in (param.help or ""), path
            if "-o" in param.opts:
                assert "--output" in param.opts, path
            if "--plot" in param.opts:
                assert re.search(r"\.png", param.help or ""), path
    assert "--plot" in _help(("report", "plot")) and "--out" not in _help(("report", "plot"))


def test_report_plot_writes_the_picture_named_by_plot(distil, tmp_path) -> None:
    result = distil("report", "plot", tmp_path / "r.json", "--out", tmp_path / "x.png")
    assert_one_line_error(result, 2, "--out")  # no such option any more: --plot is the picture


def test_o_is_the_report_and_out_the_folder(distil, tmp_path) -> None:
    result = distil("models", "student", "minilm-l6", "-o", tmp_path / "s3b")
    assert_one_line_error(result, 2, "missing", "--out", "-o/--output", "JSON report", "--out is the output folder")


def test_split_list_takes_repetition_and_commas() -> None:
    assert split_list(["a,b", " c ", "d,,"]) == ["a", "b", "c", "d"]
    assert split_list([]) is None and split_list(None) is None


def _printed(distil, *args: object) -> dict:
    result = distil(*args, "--print-config")
    assert result.exit_code == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_every_list_option_takes_repetition_and_commas(distil, tmp_path) -> None:
    glue = _printed(distil, "eval-glue", "--model", "a,b", "--model", "c", "--task", "sst2", "--task", "mrpc,rte",
                    "--fail-under", "accuracy=0.5,macro=0.4", "--fail-under", "sst2.accuracy=0.6")  # fmt: skip
    assert glue["model"] == ["a", "b", "c"]
    assert glue["task"] == "sst2,mrpc,rte"
    assert glue["fail_under"] == ["accuracy=0.5", "macro=0.4", "sst2.accuracy=0.6"]
    assert _printed(distil, "eval-sts", "--model", "a,b")["model"] == ["a", "b"]
    bench = _printed(distil, "benchmark", "--model", "a,b", "--backend", "eager", "--backend", "onnx",
                     "--quantize", "none", "--quantize", "dynamic-int8", "--batch-sizes", "1", "--batch-sizes", "8,32",
                     "--seq-lengths", "32", "--seq-lengths", "128")  # fmt: skip
    assert bench["model"] == ["a", "b"]
    assert bench["backend"] in ("eager,onnx", ["eager", "onnx"])
    assert bench["quantize"] in ("none,dynamic-int8", ["none", "dynamic-int8"])
    assert bench["batch_sizes"] in ("1,8,32", [1, 8, 32]) and bench["seq_lengths"] in ("32,128", [32, 128])
    tune = _printed(distil, "finetune", "--model", "m", "--task", "sst2", "--out", tmp_path / "o",
                    "--seeds", "1", "--seeds", "2,3", "--report-to", "tensorboard", "--report-to", "mlflow")  # fmt: skip
    assert tune["seeds"] in ("1,2,3", [1, 2, 3])
    assert tune["report_to"] in ("tensorboard,mlflow", ["tensorboard", "mlflow"])
    student = _printed(distil, "models", "student", "--teacher", "t", "--out", tmp_path / "s",
                       "--layer-map", "0", "--layer-map", "2,4")  # fmt: skip
    assert student["layer_map"] in ("0,2,4", [0, 2, 4])
