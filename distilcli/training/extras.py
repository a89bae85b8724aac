"""A student trained together with modules that are not part of the saved model (a guide's projections)."""

from __future__ import annotations

from typing import Any

import torch


class WithExtras(torch.nn.Module):
    """The student and the modules a guide trains beside it (projections), as one module for the loop.

    One module, so the optimizer, the gradient clipping, the checkpoints and the process group
    cover both; only ``student`` is evaluated and saved as the model.
    """

    def __init__(self, student: torch.nn.Module, extras: torch.nn.Module) -> None:
        super().__init__()
        self.student, self.extras = student, extras

    def forward(self, **inputs: Any) -> Any:
        return self.student(**inputs)


def student_of(model: torch.nn.Module) -> torch.nn.Module:
    """The model a run evaluates and saves: ``model``, or the student inside a :class:`WithExtras`."""
    return model.student if isinstance(model, WithExtras) else model
