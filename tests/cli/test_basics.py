"""The root command: help, version, fast import, unknown commands."""

from __future__ import annotations

import subprocess
import sys

from distilcli import __version__

ALL_COMMANDS = ("distill", "finetune", "eval-glue", "eval-squad", "benchmark", "report", "models")


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
