"""Training checkpoints: written atomically, the last few kept, read back for --resume.

A checkpoint holds everything needed to continue as if never stopped: the model (with
any learned projection), optimizer, scheduler, the GradScaler of an fp16 run, every RNG
state, the data position and the recipe's records so far (loss history, best dev score).
:meth:`distilcli.training.loop.TrainLoop.state` assembles it for every recipe.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

CHECKPOINTS = "checkpoints"
STATE_FILE = "training_state.pt"
_NAME = re.compile(r"^step-(\d{7})$")


def rng_states() -> dict[str, Any]:
    """The state of every random generator a run draws from (Python, NumPy, torch, CUDA)."""
    states: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_rng_states(states: dict[str, Any]) -> None:
    """Put back the generators' states of :func:`rng_states`."""
    random.setstate(states["python"])
    np.random.set_state(states["numpy"])
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def checkpoint_dir(out: Path) -> Path:
    """Where a run in ``out`` keeps its checkpoints."""
    return Path(out) / CHECKPOINTS


def list_checkpoints(out: Path) -> list[tuple[int, Path]]:
    """(step, folder) of every complete checkpoint, oldest first."""
    root = checkpoint_dir(out)
    if not root.is_dir():
        return []
    found = []
    for child in root.iterdir():
        match = _NAME.match(child.name)
        if match and (child / STATE_FILE).is_file():
            found.append((int(match.group(1)), child))
    return sorted(found)


def save_checkpoint(out: Path, step: int, state: dict[str, Any], keep: int = 2) -> Path:
    """Write ``state`` as checkpoint ``step`` (temp folder, then rename); keep the newest ``keep``."""
    root = checkpoint_dir(out)
    root.mkdir(parents=True, exist_ok=True)
    target = root / f"step-{step:07d}"
    tmp = Path(tempfile.mkdtemp(prefix=".step-", suffix=".tmp", dir=root))
    try:
        torch.save(state, tmp / STATE_FILE)
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for _, old in list_checkpoints(out)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return target


def load_checkpoint(folder: Path) -> dict[str, Any]:
    """The state saved in checkpoint ``folder``."""
    # Our own file, holding numpy RNG state: not loadable with weights_only=True.
    return torch.load(Path(folder) / STATE_FILE, map_location="cpu", weights_only=False)
