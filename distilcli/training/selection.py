"""Where a task run picks its best checkpoint: on dev (the paper's practice) or on held-out training data.

Picking the checkpoint with the best dev score and reporting that same dev score overstates
it, most on small dev sets (RTE, MRPC, STS-B) and when seeds are compared. With
``--select-on holdout[:FRACTION]`` a fixed slice of the training examples (10% by default) is
set aside: evaluations during training score it, the best model is kept by it, and dev is
scored once, at the end, on that model.
"""

from __future__ import annotations

from dataclasses import replace

from distilcli.errors import BadInput
from distilcli.training.options import Selection
from distilcli.training.run_files import subsample
from distilcli.training.task_protocols import TaskData


def hold_out(data: TaskData, selection: Selection) -> TaskData:
    """``data`` with ``selection.fraction`` of its training examples moved to ``data.selection``.

    The draw is fixed (it does not depend on ``--seed``), so every seed trains and selects on
    the same examples, as ``--train-limit``'s subsample.
    """
    if selection.on == "dev":
        return data
    n = len(data.train_examples)
    held = max(1, round(n * selection.fraction))
    if n - held < 1:
        raise BadInput(f"{n} training example(s) are too few to hold {selection.fraction:.0%} out: use --select-on dev")
    chosen = set(subsample(n, held, draw=1))
    heldout = [e for i, e in enumerate(data.train_examples) if i in chosen]
    rest = [e for i, e in enumerate(data.train_examples) if i not in chosen]
    split = replace(data.train, examples=heldout, split="heldout")  # type: ignore[type-var]
    return replace(data, train_examples=rest, selection=split)
