"""``distil distill`` through the command line, in one process and in two (torchrun, gloo)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.cli.conftest import assert_one_line_error
from tests.unit.test_distill_engine import corpus  # noqa: F401 - the shared corpus fixture

ARGS = ["--layer-map", "0,2", "--max-steps", "4", "--batch-size", "4", "--max-seq-length", "32", "--log-every", "2"]


def test_cli_distill(distil, tiny_models: dict[str, Path], corpus: Path, tmp_path: Path) -> None:  # noqa: F811
    out, report = tmp_path / "run", tmp_path / "report.json"
    result = distil("distill", "--teacher", tiny_models["bert"], "--corpus", corpus, "--out", out, "--output", report, *ARGS)
    assert result.exit_code == 0, result.stderr
    data = json.loads(report.read_text())
    assert data["command"] == "distill" and data["metrics"]["steps"] == 4
    assert "step 2/4" in result.stderr  # plain status lines when stderr is not a terminal
    again = distil("distill", "--teacher", tiny_models["bert"], "--corpus", corpus, "--out", out, *ARGS)
    assert_one_line_error(again, 2, "--overwrite")


def test_cli_headless_teacher_refused(distil, tiny_encoders: dict[str, Path], corpus: Path, tmp_path: Path) -> None:  # noqa: F811
    result = distil("distill", "--teacher", tiny_encoders["bert"], "--corpus", corpus, "--out", tmp_path / "o", *ARGS)
    assert_one_line_error(result, 2, "--fit-teacher-head", "--alpha-ce 0 --alpha-mlm 0")


def test_cli_missing_corpus(distil, tiny_models: dict[str, Path], tmp_path: Path) -> None:
    result = distil("distill", "--teacher", tiny_models["bert"], "--corpus", tmp_path / "none.txt", "--out", tmp_path / "o")
    assert_one_line_error(result, 2)
    assert not (tmp_path / "o").exists()


def test_two_processes_stay_in_sync(tiny_models: dict[str, Path], corpus: Path, tmp_path: Path) -> None:  # noqa: F811
    out, report = tmp_path / "ddp", tmp_path / "ddp.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "DISTILCLI_CACHE": str(tmp_path / "cache")}
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29517",
        "-m", "distilcli", "distill", "--teacher", str(tiny_models["bert"]), "--corpus", str(corpus),
        "--out", str(out), "--output", str(report), *ARGS,
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    data = json.loads(report.read_text())
    assert data["body"]["distillation"]["processes"] == 2
    checksums = data["body"]["rank_param_checksums"]
    assert len(checksums) == 2 and checksums[0] == checksums[1]
    assert result.stderr.count("report written to") == 1  # written once, by rank 0
    assert (out / "config.json").is_file()


def test_bf16_mixed_precision_on_the_cpu(tiny_models: dict[str, Path], corpus: Path, tmp_path: Path) -> None:  # noqa: F811
    """The mixed-precision path (Accelerate's autocast) on the CPU: the nearest check to a GPU run here.

    In a fresh process: Accelerate keeps one precision per process, and other tests ran without.
    """
    import math

    report = tmp_path / "bf16.json"
    command = [sys.executable, "-m", "distilcli", "distill", "--teacher", str(tiny_models["bert"]), "--corpus", str(corpus),
               "--out", str(tmp_path / "bf16"), "--output", str(report), "--precision", "bf16", *ARGS]  # fmt: skip
    env = {**os.environ, "DISTILCLI_CACHE": str(tmp_path / "cache")}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    data = json.loads(report.read_text())
    assert data["config"]["precision"] == "bf16" and data["metrics"]["steps"] == 4
    assert all(math.isfinite(v) for v in data["metrics"].values())
    fp16 = subprocess.run([*command[:-len(ARGS) - 2], "--precision", "fp16", *ARGS], capture_output=True, text=True, env=env, timeout=300)
    assert fp16.returncode == 2 and fp16.stderr.strip().startswith("error: --precision fp16 needs a GPU"), fp16.stderr
