"""The root command: help, version, fast import, unknown commands, usage errors through the real entry point."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from distilcli import __version__

ALL_COMMANDS = ("distill", "finetune", "eval-glue", "eval-squad", "eval-sts", "eval-retrieval", "benchmark", "export", "pipeline", "report", "models")


def test_help_lists_every_command(distil) -> None:
    result = distil("--help")
    assert result.exit_code == 0
    for name in ALL_COMMANDS:
        assert name in result.stdout


def test_no_args_shows_help(distil) -> None:
    result = distil()
    assert "Usage" in result.stdout + result.stderr


def test_version(distil) -> None:
    result = distil("--version")
    assert result.exit_code == 0 and result.stdout.strip() == f"distilcli {__version__}"


def test_importing_cli_does_not_import_torch() -> None:
    code = "import sys, distilcli.cli; bad = {'torch', 'transformers'} & set(sys.modules); print(sorted(bad))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_python_m_distilcli() -> None:
    result = subprocess.run([sys.executable, "-m", "distilcli", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and __version__ in result.stdout


def test_unknown_command_is_usage_error(distil) -> None:
    result = distil("distil-everything")
    assert result.exit_code == 2


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
