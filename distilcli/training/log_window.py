"""The logging window of a training run: its figures since the last status line, and every line's figures so far.

General distillation (which counts tokens) and task training (fine-tuning and task distillation,
which count examples) keep the same record: each loss term's values since the last status line,
the tokens or examples read, the clock, and the figures of each status line (the report's curves).
A checkpoint holds :meth:`LogWindow.state` under :data:`STATE_KEY`, so a run resumed inside a window
logs and reports the numbers the uninterrupted run does.

A step's figures join the window when the step ends (:meth:`LogWindow.end_step`): a checkpoint
written by Ctrl-C in the middle of a step holds none of that step, which the resumed run redoes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import torch

from distilcli.errors import BadInput

if TYPE_CHECKING:  # pragma: no cover
    from accelerate import Accelerator

#: The key of a checkpoint that holds the window's state.
STATE_KEY = "log_window"


def saved_window(checkpoint: dict[str, Any], folder: object) -> dict[str, Any]:
    """The window's state in a checkpoint's state; a checkpoint from before it was kept is refused in one line.

    Checkpoints written before the window was one record kept its parts under other keys; resuming
    one would lose its curves, so the user is told to start over (or finish with the older version).
    """
    if STATE_KEY not in checkpoint:
        raise BadInput(
            f"--resume: the checkpoint {folder} was written by an older distilcli, which kept its logging figures"
            " differently: start the run again without --resume (--overwrite), or finish it with the version that"
            " started it"
        )
    return checkpoint[STATE_KEY]


class Counted(NamedTuple):
    """A window's counts, over one process or summed over every process."""

    #: Tokens or examples read in the window.
    items: int
    #: Of those, the ones read before this run's clock started (a resumed window's): not part of its rate.
    untimed: int
    #: Each loss term's sum over the window.
    sums: dict[str, float]


@dataclass
class LogWindow:
    """What a run counted since its last status line, and the figures of every status line so far."""

    #: What the run counts: ``"tokens"`` or ``"examples"``; the rate is ``<unit>_per_s``.
    unit: str
    #: Each loss term's values since the last status line, in the order they came.
    terms: dict[str, list[float]] = field(default_factory=dict)
    items: int = 0
    #: The items of the closed windows.
    total: int = 0
    #: Each status line's step, term means and rate (the report's curves).
    lines: dict[str, list[float]] = field(default_factory=dict)
    untimed: int = 0
    start: float = field(default_factory=time.perf_counter)
    #: The figures of the step under way, added to the window when it ends.
    _step: list[tuple[dict[str, float], int]] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        self.lines = self.lines or {"step": [], "loss": [], self.rate_name: []}

    @property
    def seen(self) -> int:
        """The items of the run so far, closed windows and the open one (where each process counts every process's)."""
        return self.total + self.items

    @property
    def rate_name(self) -> str:
        """``tokens_per_s`` or ``examples_per_s``."""
        return f"{self.unit}_per_s"

    def add(self, values: dict[str, float], items: int = 0) -> None:
        """Count a micro-batch: its loss terms and the tokens or examples it read (kept until its step ends)."""
        self._step.append((dict(values), items))

    def end_step(self, values: dict[str, float] | None = None) -> None:
        """The step is done: its micro-batches' figures and ``values`` (the step's own, say its loss) join the
        window."""
        for micro, items in [*self._step, (values or {}, 0)]:
            for name, value in micro.items():
                self.terms.setdefault(name, []).append(value)
            self.items += items
        self._step.clear()

    def restart_clock(self) -> None:
        """Start timing now (the run's first step): the items already in the window (a resumed one's) are untimed."""
        self.start, self.untimed = time.perf_counter(), self.items

    def sums(self) -> dict[str, float]:
        """Each term's sum, added up in the order the values came (as a running total would)."""
        sums: dict[str, float] = {}
        for name, values in self.terms.items():
            total = 0.0
            for value in values:
                total += value
            sums[name] = total
        return sums

    def means(self) -> dict[str, float]:
        """Each term's mean over its values in the window."""
        return {name: float(np.mean(values)) for name, values in self.terms.items()}

    def counted(self, accelerator: Accelerator | None = None) -> Counted:
        """The window's counts; summed over every process with an ``accelerator`` of several (a collective: call on
        all)."""
        own = Counted(self.items, self.untimed, self.sums())
        if accelerator is None or accelerator.num_processes == 1:
            return own
        values = [own.items, own.untimed, *own.sums.values()]
        stats = torch.tensor(values, dtype=torch.float64, device=accelerator.device)
        totals = accelerator.reduce(stats, reduction="sum").tolist()
        return Counted(int(totals[0]), int(totals[1]), dict(zip(own.sums, totals[2:])))

    def close(self, step: int, means: dict[str, float], counted: Counted | None = None) -> dict[str, float]:
        """Record the status line at ``step`` (each term's ``means``, the rate) and open the next window.

        ``counted`` is the window's counts over every process (default: this process's). Returns the
        values to track: ``train/<term>`` and ``train/<unit>_per_s``, the numbers of this line.
        """
        counted = counted or self.counted()
        rate = (counted.items - counted.untimed) / (time.perf_counter() - self.start)
        self.total += counted.items
        self.lines["step"].append(step)
        self.lines[self.rate_name].append(rate)
        for name, value in means.items():
            self.lines.setdefault(name, []).append(value)
        self.terms, self.items, self.untimed, self.start = {}, 0, 0, time.perf_counter()
        return {f"train/{name}": value for name, value in means.items()} | {f"train/{self.rate_name}": rate}

    def state(self, counted: Counted | None = None) -> dict[str, Any]:
        """What a checkpoint keeps (under :data:`STATE_KEY`): the lines so far and the open window.

        With ``counted`` (the window's counts over every process), the window is kept as those sums:
        restored on one process, they continue as every process's.
        """
        terms = {name: list(values) for name, values in self.terms.items()}
        if counted is not None:
            terms = {name: [value] for name, value in counted.sums.items()}
        items = self.items if counted is None else counted.items
        return {"lines": self.lines, "total": self.total, "terms": terms, "items": items}

    def shared_state(self, accelerator: Accelerator) -> dict[str, Any]:
        """:meth:`state` with the open window summed over every process (call on all: a collective with several)."""
        return self.state(self.counted(accelerator) if accelerator.num_processes > 1 else None)

    def restore(self, state: dict[str, Any], *, with_window: bool = True) -> None:
        """Take a checkpoint's :meth:`state`; the open window only ``with_window`` (where the saved sums continue)."""
        self.lines, self.total = state["lines"], int(state["total"])
        if with_window:
            self.terms = {name: list(values) for name, values in state["terms"].items()}
            self.items = int(state["items"])
