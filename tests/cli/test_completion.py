"""Shell completion: Typer's --show-completion, and the values completed (tasks, model aliases, backends)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from distilcli.cli import app
from distilcli.commands._complete import complete_backend, complete_model, complete_quantize, complete_task


def values(items: list[tuple[str, str]]) -> list[str]:
    return [value for value, _ in items]


def ctx(command: str) -> SimpleNamespace:
    """The bit of a click context the task completion reads: which command is completing."""
    return SimpleNamespace(command=SimpleNamespace(name=command))


def test_task_names_per_command() -> None:
    finetune = values(complete_task(ctx("finetune"), ""))
    for name in ("cola", "sst2", "mrpc", "stsb", "qqp", "mnli", "mnli-mm", "qnli", "rte", "wnli", "squad", "squad_v2"):
        assert name in finetune
    assert "SST-2" in finetune and "mnlimatched" in finetune  # display spellings and aliases
    assert values(complete_task(ctx("finetune"), "sq")) == ["squad", "squad_v2"]
    assert values(complete_task(ctx("distill"), "glue:ss")) == ["glue:sst2"]
    assert "squad" in values(complete_task(ctx("distill"), "sq"))
    assert values(complete_task(ctx("eval-glue"), "sst2,co")) == ["sst2,cola"]
    assert "all" in values(complete_task(ctx("eval-glue"), "")) and "squad" not in values(
        complete_task(ctx("eval-glue"), "")
    )
    assert values(complete_task(ctx("eval-squad"), "")) == ["squad", "squad_v2"]


def test_models_complete_aliases_and_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert values(complete_model("mi")) == ["minilm-l6"]
    assert values(complete_model("mp")) == ["mpnet-base"]
    (tmp_path / "runs" / "student").mkdir(parents=True)
    (tmp_path / "runs" / "student" / "config.json").write_text("{}")
    monkeypatch.chdir(tmp_path)
    assert complete_model("ru") == [("runs/", "folder")]
    assert complete_model("runs/") == [("runs/student/", "model folder")]
    assert values(complete_model(f"{tmp_path}/runs/s")) == [f"{tmp_path}/runs/student/"]


def test_backends_and_quantize_complete_comma_lists() -> None:
    assert values(complete_backend("")) == ["eager", "onnx"]
    assert values(complete_backend("eager,o")) == ["eager,onnx"]
    assert values(complete_quantize("none,d")) == ["none,dynamic-int8"]


def complete(line: str) -> list[str]:
    """What bash completion offers for ``line`` (the word after the last space is being typed)."""
    words = line.split(" ")
    env = {"_DISTIL_COMPLETE": "complete_bash", "COMP_WORDS": line, "COMP_CWORD": str(len(words) - 1)}
    result = CliRunner().invoke(app, [], env=env, prog_name="distil")
    assert result.exit_code == 0, result.output
    return result.stdout.split()


def test_completion_through_the_cli() -> None:
    assert complete("distil finetune --task sq") == ["squad", "squad_v2"]
    assert complete("distil benchmark --backend o") == ["onnx"]
    assert complete("distil models student mi") == ["minilm-l6"]
    assert "eval-glue" in complete("distil eval")


def test_show_completion_script() -> None:
    from typer._completion_shared import get_completion_script

    # The script --show-completion prints (asked of typer directly: from the CLI, the shell is detected
    # from the parent processes, which a test run under another process tree may not show).
    script = get_completion_script(prog_name="distil", complete_var="_DISTIL_COMPLETE", shell="bash")
    assert "_DISTIL_COMPLETE" in script and "complete_bash" in script
    help_text = CliRunner().invoke(app, ["--help"], prog_name="distil").stdout
    assert "--install-completion" in help_text and "--show-completion" in help_text
