"""What every process of a run checks and shares: rank, option checks."""

from __future__ import annotations

import math
import numbers

from distilcli.errors import BadInput
from distilcli.runlock import is_main_process

__all__ = ["check_at_least", "check_positive", "is_main_process", "peak_memory_mb"]


def check_positive(name: str, value: float | None, allow_none: bool = False) -> None:
    """``--name`` must be a finite number > 0 (or absent, with ``allow_none``); else :class:`BadInput`.

    The one positive-number check: the commands' options and the loss modules' hyper-parameters (a
    temperature) alike. A bool or a string is refused too (a config file may hold one), never a TypeError.
    """
    if value is None and allow_none:
        return
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not math.isfinite(value) or value <= 0:
        raise BadInput(f"--{name.replace('_', '-')} must be a finite number > 0, got {value}")


def check_at_least(name: str, value: float, low: float) -> None:
    """``--name`` must be a finite number >= ``low``; else :class:`BadInput`."""
    if not math.isfinite(value) or value < low:
        raise BadInput(f"--{name.replace('_', '-')} must be a finite number >= {low:g}, got {value}")


def peak_memory_mb() -> float:
    """This process's peak memory: the GPU's allocations on a GPU, else the resident set size."""
    import torch

    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
