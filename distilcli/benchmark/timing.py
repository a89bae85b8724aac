"""Timing runners interleaved (A B A B ...), and the statistics and ratios of the samples."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from distilcli import progress


def latency_stats(seconds: Sequence[float]) -> dict[str, float]:
    """p50, p90, p99 and mean in milliseconds (percentiles by linear interpolation, as numpy's default)."""
    ms = np.asarray(seconds, dtype=np.float64) * 1000.0
    p50, p90, p99 = np.percentile(ms, [50, 90, 99])
    return {"p50": float(p50), "p90": float(p90), "p99": float(p99), "mean": float(ms.mean())}


def time_interleaved(
    runners: Sequence[Any], prepared: Sequence[Any], warmup: int, repeats: int, handle: progress.TaskHandle
) -> list[list[float]]:
    """Seconds per forward pass of each runner on its ``prepared`` batch, ``repeats`` times each.

    Round by round, every runner runs once before any runs again, so a slow spell of the
    machine falls on all of them alike rather than on whichever model was being measured.
    """
    for _ in range(warmup):
        for runner, batch in zip(runners, prepared, strict=True):
            runner.forward(batch)
            handle.advance()
    samples: list[list[float]] = [[] for _ in runners]
    for _ in range(repeats):
        for index, (runner, batch) in enumerate(zip(runners, prepared, strict=True)):
            start = time.perf_counter()
            runner.forward(batch)
            samples[index].append(time.perf_counter() - start)
            handle.advance()
    return samples


def speedup(baseline_seconds: float, seconds: float) -> float:
    """How many times faster than the baseline: 1.6 is the paper's "60% faster"."""
    return baseline_seconds / seconds


def reduction(baseline: float, value: float) -> float:
    """The fraction saved against the baseline: 0.4 is the paper's "40% smaller"."""
    return 1.0 - value / baseline
