"""The shared optimizer-step loop: checkpoints hold all state (the GradScaler too); a bf16 run resumes exactly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import torch

from distilcli.training.loop import TrainLoop
from tests.unit.test_distill_engine import corpus  # noqa: F401 - the shared corpus fixture

# In a fresh process: Accelerate keeps one precision per process, and other tests ran without.
BF16_RESUME = r"""
import json, sys
from dataclasses import replace
from pathlib import Path

import torch
from safetensors.torch import load_file

from distilcli.distill.config import DistillConfig
from distilcli.distill.engine import run_distill
from distilcli.errors import Interrupted
from distilcli.training import checkpoint as ckpt

teacher, corpus, root = sys.argv[1], sys.argv[2], Path(sys.argv[3])
cfg = DistillConfig(teacher=teacher, corpus=corpus, out=root / "full", layer_map=[0, 2], max_steps=6, batch_size=4,
                    max_seq_length=32, save_every=3, log_every=2, cache_dir=root / "cache", precision="bf16")
full = run_distill(cfg)

def stop_at_4(step):
    if step == 4:
        raise KeyboardInterrupt

cut = replace(cfg, out=root / "cut")
try:
    run_distill(cut, on_step=stop_at_4)
    interrupted = False
except Interrupted:
    interrupted = True
state = ckpt.load_checkpoint(ckpt.list_checkpoints(cut.out)[-1][1])
resumed = run_distill(replace(cut, resume=True))
a, b = load_file(root / "full" / "model.safetensors"), load_file(root / "cut" / "model.safetensors")
print(json.dumps({
    "interrupted": interrupted,
    "checkpoint_step": state["step"],
    "checkpoint_keys": sorted(state),
    "precision": resumed.config["precision"],
    "same_curves": full.body["loss_curves"] == resumed.body["loss_curves"],
    "same_weights": a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a),
    "dtypes": sorted({str(t.dtype) for t in a.values()}),
}))
"""


def test_bf16_run_interrupted_and_resumed_equals_an_uninterrupted_one(
    tiny_models: dict[str, Path], corpus: Path, tmp_path: Path  # noqa: F811
) -> None:
    env = {**os.environ, "DISTILCLI_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-c", BF16_RESUME, str(tiny_models["bert"]), str(corpus), str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["interrupted"] and found["checkpoint_step"] == 4 and found["precision"] == "bf16"
    assert {"model", "optimizer", "scheduler", "scaler", "rng", "step", "epoch", "position", "log_window"} <= set(found["checkpoint_keys"])
    assert found["same_curves"], "the resumed bf16 run's losses differ from the uninterrupted run's"
    assert found["same_weights"], "the resumed bf16 run's weights differ from the uninterrupted run's"


class _Accelerator:
    """The parts of Accelerate the loop's state uses, with an fp16-style GradScaler (on the CPU)."""

    is_main_process = True

    def __init__(self) -> None:
        self.scaler = torch.amp.GradScaler("cpu", init_scale=2.0**10, growth_interval=7)

    def prepare(self, *objects: Any) -> tuple[Any, ...]:
        return objects

    def unwrap_model(self, model: torch.nn.Module) -> torch.nn.Module:
        return model


def _loop(accelerator: _Accelerator, out: Path) -> TrainLoop:
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    return TrainLoop(accelerator, model, optimizer, scheduler, total_steps=4, max_grad_norm=1.0, out=out, config={})  # type: ignore[arg-type]


def test_checkpoints_save_and_restore_the_grad_scaler(tmp_path: Path) -> None:
    first = _Accelerator()
    first.scaler.scale(torch.ones(1))  # the scaler starts with the first scaled loss
    first.scaler.update(new_scale=123.0)  # a scale the run reached, unlike a fresh scaler's
    loop = _loop(first, tmp_path)
    loop.prepare()
    state = loop.state({"history": []})
    assert state["scaler"]["scale"] == 123.0 and state["scaler"]["growth_interval"] == 7

    second = _Accelerator()
    resumed = _loop(second, tmp_path)
    resumed.resume(state)
    resumed.prepare()
    assert second.scaler.get_scale() == 123.0
    assert second.scaler.state_dict() == first.scaler.state_dict()
