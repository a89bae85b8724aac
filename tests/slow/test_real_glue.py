"""minilm-l6 on real GLUE files: a short fine-tune on SST-2, then eval-glue on the full dev set.

Marked slow (real weights, about half a minute on 2 cores). Skipped where the shared data or
the packaged model is absent.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from distilcli.models.aliases import ALIASES
from tests.cli.conftest import distil  # noqa: F401 - the CLI runner fixture

pytestmark = pytest.mark.slow
GLUE = Path(os.environ.get("DISTILCLI_REAL_DATA", "/work/shared/data")) / "glue"


def test_minilm_learns_sst2_and_eval_glue_scores_the_full_dev_set(distil, tmp_path: Path) -> None:  # noqa: F811
    if not ALIASES.get("minilm-l6").is_installed():
        pytest.skip(ALIASES.get("minilm-l6").install_command())
    if not (GLUE / "SST-2" / "dev.tsv").is_file():
        pytest.skip(f"no real GLUE data in {GLUE}")
    out = tmp_path / "sst2"
    result = distil("finetune", "--model", "minilm-l6", "--task", "sst2", "--glue-dir", GLUE, "--out", out,
                    "--train-limit", "640", "--max-steps", "40", "--batch-size", "16", "--max-seq-length", "64", "--lr", "1e-4",
                    "--output", tmp_path / "ft.json")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    report = tmp_path / "eval.json"
    result = distil("eval-glue", "--model", out, "--task", "sst2", "--glue-dir", GLUE, "--output", report,
                    "--predictions-out", tmp_path / "SST-2.tsv", "--fail-under", "accuracy=0.6")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    data = json.loads(report.read_text())
    assert data["body"]["tasks"]["sst2"]["examples"] == 872
    assert data["metrics"]["sst2.accuracy"] == json.loads((tmp_path / "ft.json").read_text())["metrics"]["accuracy"]
    assert len((tmp_path / "SST-2.tsv").read_text().splitlines()) == 873
