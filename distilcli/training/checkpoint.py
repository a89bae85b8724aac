"""Training checkpoints: written atomically and durably, the last few kept, read back for --resume.

A checkpoint holds everything needed to continue as if never stopped: the model (with
any learned projection), optimizer, scheduler, the GradScaler of an fp16 run, every RNG
state, the data position and the recipe's records so far (loss history, best dev score).
:meth:`distilcli.training.loop.TrainLoop.state` assembles it for every recipe.

Nothing in a checkpoint is ever unpickled as code: a run folder may come from anyone.
A checkpoint folder ``step-NNNNNNN`` holds three files:

- ``model.safetensors``: the model's tensors (safetensors, no code at all);
- ``training_state.pt``: optimizer, scheduler, GradScaler and RNG states, read with
  ``torch.load(weights_only=True)`` (tensors, numbers, strings, lists, dicts only);
- ``trainer_state.json``: the counters, the run's options and the recipe's records.

A file that is missing, truncated, foreign or malformed is :class:`CheckpointError` (exit 2)
naming the file; :func:`load_latest` then falls back to the newest intact checkpoint.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from distilcli.errors import BadInput, first_line
from distilcli.fsutil import apply_umask, disk_full_error, make_temp_dir

CHECKPOINTS = "checkpoints"
MODEL_FILE = "model.safetensors"
STATE_FILE = "training_state.pt"
JSON_FILE = "trainer_state.json"
#: The parts of a checkpoint kept in STATE_FILE (the rest, but the model, goes to JSON_FILE).
TORCH_KEYS = ("optimizer", "scheduler", "scaler", "rng")
_NAME = re.compile(r"^step-(\d{7})$")
#: distilcli's own temporary folders (tempfile.mkdtemp names: 8 characters of [a-z0-9_]).
_TEMP = re.compile(r"^\.(step|student)-[a-z0-9_]{8}\.tmp$")


class CheckpointError(BadInput):
    """A checkpoint file that cannot be read as distilcli's own: the message names the file."""


def rng_states() -> dict[str, Any]:
    """The state of every random generator a run draws from (Python, NumPy, torch, CUDA).

    NumPy's state is kept as plain numbers and a tensor, so that it loads with ``weights_only=True``.
    """
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    states: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(cached)],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_rng_states(states: dict[str, Any]) -> None:
    """Put back the generators' states of :func:`rng_states`."""
    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = states["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.int64).astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def checkpoint_dir(out: Path) -> Path:
    """Where a run in ``out`` keeps its checkpoints."""
    return Path(out) / CHECKPOINTS


def list_checkpoints(out: Path) -> list[tuple[int, Path]]:
    """(step, folder) of every checkpoint folder that was completely renamed into place, oldest first."""
    root = checkpoint_dir(out)
    if not root.is_dir():
        return []
    found = []
    for child in root.iterdir():
        match = _NAME.match(child.name)
        if match and (child / JSON_FILE).is_file():
            found.append((int(match.group(1)), child))
    return sorted(found)


def clean_temporaries(out: Path) -> list[Path]:
    """Remove the temporary folders a killed run left in ``out`` and its checkpoints; return them.

    Only names of distilcli's own making (``.step-XXXXXXXX.tmp``, ``.student-XXXXXXXX.tmp``)
    are touched; call it only on a run folder this process holds (on --resume).
    """
    removed = []
    for root in (Path(out), checkpoint_dir(out)):
        if root.is_dir():
            for child in root.iterdir():
                if _TEMP.match(child.name) and child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child, ignore_errors=True)
                    removed.append(child)
    return removed


def fsync_path(path: Path) -> None:
    """Flush a file's (or a folder's entries') data to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_checkpoint(out: Path, step: int, state: dict[str, Any], keep: int = 2) -> Path:
    """Write ``state`` as checkpoint ``step`` (temp folder, fsync, then rename); keep the newest ``keep``."""
    from safetensors.torch import save_file

    root = checkpoint_dir(out)
    root.mkdir(parents=True, exist_ok=True)
    target = root / f"step-{step:07d}"
    tmp = make_temp_dir(root, prefix=".step-", suffix=".tmp")  # an ordinary folder's mode, not mkdtemp's 0700
    try:
        with disk_full_error(target):  # "no space left on device", not torch.save's "unexpected pos"
            # Tied weights share storage, which safetensors refuses: each tensor gets its own copy.
            tensors = {name: t.detach().cpu().contiguous().clone() for name, t in state["model"].items()}
            save_file(tensors, str(tmp / MODEL_FILE))
            torch.save({key: state.get(key) for key in TORCH_KEYS}, tmp / STATE_FILE)
            rest = {key: value for key, value in state.items() if key != "model" and key not in TORCH_KEYS}
            (tmp / JSON_FILE).write_text(json.dumps(rest, default=_plain), encoding="utf-8")
        apply_umask(tmp)
        for name in (MODEL_FILE, STATE_FILE, JSON_FILE, "."):
            fsync_path(tmp / name)  # the files' data on disk before the rename makes them the checkpoint
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
        fsync_path(root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for _, old in list_checkpoints(out)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return target


def _plain(value: Any) -> Any:
    """JSON for the NumPy scalars and tensors a record may hold."""
    if isinstance(value, (np.generic, torch.Tensor)) and getattr(value, "ndim", 1) == 0:
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def load_checkpoint(folder: Path) -> dict[str, Any]:
    """The state saved in checkpoint ``folder``; :class:`CheckpointError` naming the first bad file."""
    from safetensors.torch import load_file

    folder = Path(folder)
    state: dict[str, Any] = {}
    path = folder / JSON_FILE
    try:
        state.update(_mapping(json.loads(path.read_text(encoding="utf-8"))))
        for key in ("step", "epoch", "position", "elapsed_s", "config"):
            if key not in state:
                raise ValueError(f"no {key!r} entry")
        path = folder / STATE_FILE
        # weights_only: tensors, numbers, strings and containers; any other pickle is refused unrun.
        saved = _mapping(torch.load(path, map_location="cpu", weights_only=True))
        state.update({key: saved[key] for key in TORCH_KEYS})
        path = folder / MODEL_FILE
        state["model"] = load_file(str(path))
    except Exception as exc:  # noqa: BLE001 - whatever the file holds, it is one clear line
        raise CheckpointError(
            f"checkpoint file {path} is not a readable distilcli checkpoint ({first_line(exc, 160)}): "
            "remove that checkpoint folder, or start the run again without --resume"
        ) from None
    return state


def _mapping(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"a {type(value).__name__}, not a mapping")
    return value


def load_latest(out: Path, log: Callable[[str], None]) -> tuple[Path, dict[str, Any]] | None:
    """The newest intact checkpoint of ``out`` (folder, state), None when there is none yet.

    Temporary folders of killed runs are removed first, by the main process alone (global rank 0:
    the others only read the run folder). An unreadable checkpoint is skipped with a note when an
    older one is intact; when none is, the newest's error is raised.
    """
    from distilcli.runlock import is_main_process

    for path in clean_temporaries(out) if is_main_process() else []:
        log(f"note: removed {path}, left by a run that was stopped while writing it")
    errors: list[CheckpointError] = []
    for _, folder in reversed(list_checkpoints(out)):
        try:
            state = load_checkpoint(folder)
        except CheckpointError as exc:
            errors.append(exc)
            continue
        for exc in errors:
            log(f"note: {str(exc).partition(': remove')[0]}; resuming from the older intact checkpoint {folder}")
        return folder, state
    if errors:
        raise errors[0]
    return None


def all_finite(tensors: Any) -> bool:
    """True when every value of ``tensors`` (an iterable of tensors) is finite."""
    return all(bool(torch.isfinite(t).all()) for t in tensors if t.is_floating_point())


def drop_checkpoints(out: Path) -> int:
    """``--final-only``: delete the checkpoints a finished run wrote in ``out`` (its own ``step-N`` folders only).

    The final model at the top of ``out`` stays; the run can no longer be resumed. Anything else a
    user put in the checkpoints folder is left, and the folder with it. Returns the folders deleted.
    """
    import shutil

    found = list_checkpoints(out)
    for _, folder in found:
        shutil.rmtree(folder)
    root = checkpoint_dir(out)
    if root.is_dir() and not any(root.iterdir()):
        root.rmdir()
    return len(found)
