"""What a task run records: every evaluation, the loss curve, the best model so far, early stopping.

:class:`TaskRecord` is all of it, kept in the run's checkpoints and restored on ``--resume``; the
run itself is :mod:`distilcli.training.task_run`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from distilcli.training.log_window import STATE_KEY, LogWindow


@dataclass
class TaskRecord:
    """What a task run records, all kept in its checkpoints."""

    #: Every evaluation: its step, epoch, mean training loss since the one before, and metrics.
    history: list[dict[str, Any]] = field(default_factory=list)
    #: Each optimizer step's loss (the report's loss curve).
    losses: list[tuple[int, float]] = field(default_factory=list)
    best: dict[str, Any] | None = None
    bad_evals: int = 0
    stopped_early: bool = False
    head_init: str | None = None
    #: The status lines' window: the steps' losses, a guide's loss terms and the examples (of every process).
    window: LogWindow = field(default_factory=lambda: LogWindow("examples"))

    def state(self) -> dict[str, Any]:
        """What a checkpoint keeps."""
        return {
            "history": self.history,
            "losses": self.losses,
            "best": self.best,
            "bad_evals": self.bad_evals,
            "stopped_early": self.stopped_early,
            "head_init": self.head_init,
            STATE_KEY: self.window.state(),
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Take a checkpoint's :meth:`state` (on every process: each counts every process's examples)."""
        self.history, self.losses, self.best = state["history"], state["losses"], state["best"]
        self.bad_evals, self.stopped_early = state["bad_evals"], state["stopped_early"]
        self.head_init = state["head_init"]
        self.window.restore(state[STATE_KEY])
