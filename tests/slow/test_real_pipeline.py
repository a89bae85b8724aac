"""``distil pipeline --recipe smoke`` on the packaged minilm-l6, real GLUE files and WikiText-2.

Marked slow (real weights; a few minutes on 2 cores): what CI and a new user run first. It
checks that every stage ran and that the tables and the report agree, not what distillation
achieves at this budget. Skipped where the shared data or the packaged model is absent.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from distilcli.models.aliases import ALIASES
from distilcli.pipeline.recipe import load_recipe
from tests.cli.conftest import distil  # noqa: F401 - the CLI runner fixture

pytestmark = pytest.mark.slow
DATA = Path(os.environ.get("DISTILCLI_REAL_DATA", "/work/shared/data"))


def test_smoke_recipe_runs_every_stage(distil, tmp_path: Path) -> None:  # noqa: F811
    if not ALIASES.get("minilm-l6").is_installed():
        pytest.skip(ALIASES.get("minilm-l6").install_command())
    if not (DATA / "glue" / "SST-2" / "dev.tsv").is_file() or not (DATA / "wikitext-2").is_dir():
        pytest.skip(f"no real GLUE data or WikiText-2 in {DATA}")
    out = tmp_path / "smoke"
    result = distil("pipeline", "--recipe", "smoke", "--out", out, "--glue-dir", DATA / "glue", "--corpus", DATA / "wikitext-2",
                    "--fail-under", "glue.teacher.macro_retention=1.0")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    report = json.loads((out / "pipeline.json").read_text())
    recipe = load_recipe("smoke")
    stages = report["body"]["stages"]
    assert all(stage["finished"] for stage in stages) and len(stages) == 11
    for arm in recipe.arms:
        for task in recipe.glue_tasks:
            assert f"glue.{arm}.{task}" in report["metrics"]
    assert report["metrics"]["glue.teacher.macro_retention"] == 1.0
    assert "glue.student_int8.macro" in report["metrics"]
    assert 0.2 < report["metrics"]["benchmark.student.parameter_reduction"] < 0.3  # 23.6%: embeddings dominate
    tables = (out / "tables.md").read_text()
    assert "Table 1" in tables and "Table 3" in tables and "Table 2" not in tables  # no SQuAD in smoke
    assert (out / "summary.png").read_bytes()[:4] == b"\x89PNG"
    # Run again: every stage is skipped, the figures are the same.
    again = distil("pipeline", "--recipe", "smoke", "--out", out, "--glue-dir", DATA / "glue", "--corpus", DATA / "wikitext-2")
    assert again.exit_code == 0, again.stderr
    rerun = json.loads((out / "pipeline.json").read_text())
    assert {row["done"] for row in rerun["body"]["this_run"]} == {"skipped"}
    assert rerun["metrics"] == report["metrics"]
