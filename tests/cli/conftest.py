"""CliRunner helpers: run ``distil`` in-process with stdout and stderr kept apart."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from distilcli.cli import app


class Distil:
    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str):
        return self.runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def distil() -> Distil:
    return Distil()


def assert_one_line_error(result, code: int = 2, *fragments: str) -> None:
    """Exit ``code``, a single ``error:`` line on stderr naming ``fragments``, no traceback."""
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
