"""Issue 14: a distill run killed with SIGKILL at random points (checkpoint writes included), resumed each time,
ends with the uninterrupted run's student and report figures."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from distilcli.training import checkpoint as ckpt
from tests.unit.test_distill_engine import corpus  # noqa: F401 - the shared corpus fixture

TIMING = ("tokens_per_s", "wall_s", "peak_memory_mb", "duration_s")


def _command(teacher: Path, corpus_file: Path, out: Path, report: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "distilcli", "distill", "--teacher", str(teacher), "--corpus", str(corpus_file),
        "--out", str(out), "--output", str(report), "--layer-map", "0,2", "--max-steps", "60", "--batch-size", "4",
        "--max-seq-length", "32", "--save-every", "3", "--log-every", "4", *extra,
    ]  # fmt: skip


def _figures(report: Path) -> dict:
    data = json.loads(report.read_text())
    return {
        "metrics": {k: v for k, v in data["metrics"].items() if k not in TIMING},
        "curves": data["body"]["loss_curves"],
        "distillation": data["body"]["distillation"],
    }


def _wait_for(mode: str, out: Path, process: subprocess.Popen, rng: random.Random) -> bool:
    """Wait for the moment to kill (True), or for the run to end first (False)."""
    root = ckpt.checkpoint_dir(out)

    def newest() -> int:
        saved = ckpt.list_checkpoints(out)
        return saved[-1][0] if saved else 0

    before = newest()
    while process.poll() is None:
        if mode == "early" and root.is_dir():  # the run has started training, no checkpoint yet
            time.sleep(rng.uniform(0.0, 0.05))
            return True
        # A temp folder seen: inside a checkpoint write; a new checkpoint seen: inside the clean-up after it.
        if mode == "write" and root.is_dir() and (any(root.glob(".step-*.tmp")) or newest() > before):
            return True
        if mode == "after" and newest() > before:
            time.sleep(rng.uniform(0.0, 0.3))
            return True
        time.sleep(0.001)
    return False


@pytest.mark.slow
def test_sigkill_at_random_points_then_resume_equals_an_uninterrupted_run(
    tiny_models: dict[str, Path], corpus: Path, tmp_path: Path  # noqa: F811
) -> None:
    from safetensors.torch import load_file

    env = {**os.environ, "DISTILCLI_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    teacher = tiny_models["bert"]
    subprocess.run(_command(teacher, corpus, tmp_path / "reference", tmp_path / "reference.json"), env=env, check=True, capture_output=True)
    out, report = tmp_path / "run", tmp_path / "run.json"
    rng = random.Random(14)
    kills = []
    # First a kill before the first checkpoint, then while a checkpoint is being written, then at random times.
    for attempt, mode in enumerate(["early", "write", "after", "write", "after", "after", "finish"]):
        resume = ["--resume"] if ckpt.checkpoint_dir(out).is_dir() else (["--overwrite"] if out.exists() else [])
        process = subprocess.Popen(_command(teacher, corpus, out, report, *resume), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if mode != "finish" and _wait_for(mode, out, process, rng):
            process.send_signal(signal.SIGKILL)
            kills.append((attempt, mode, [s for s, _ in ckpt.list_checkpoints(out)]))
        _, err = process.communicate()
        assert process.returncode in (0, -signal.SIGKILL), err.decode()[-2000:]
        if process.returncode == 0:
            break
    assert len(kills) >= 4, kills
    assert report.exists()
    assert _figures(report) == _figures(tmp_path / "reference.json")
    a, b = load_file(tmp_path / "reference" / "model.safetensors"), load_file(out / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert not list(out.glob(".student-*.tmp")) and not list(ckpt.checkpoint_dir(out).glob(".step-*.tmp"))
