"""One registry of tasks: every GLUE task and SQuAD v1.1/v2.0, each an entry carrying all about the task.

``get_task("sst2" | "SST-2" | "mnli_mismatched" | "squad" | "SQuAD-v2.0" ...)`` returns the entry
(:class:`~distilcli.tasks.glue.entry.GlueEntry` or :class:`~distilcli.tasks.squad.entry.SquadEntry`):
spec, data loading, features and batches, head loading, dev evaluation, the outputs task
distillation learns from and their cache. Fine-tuning and ``distill --task`` ask it; nothing
dispatches on the task's type.
"""

from __future__ import annotations

from distilcli.registry import Registry
from distilcli.tasks.glue.entry import GlueEntry
from distilcli.tasks.glue.spec import GLUE_TASKS, resolve_task
from distilcli.tasks.squad.data import SQUAD, SQUAD_V2, squad_task
from distilcli.tasks.squad.entry import SquadEntry

TaskEntry = GlueEntry | SquadEntry

TASKS: Registry[TaskEntry] = Registry("task")
for _name, _spec in GLUE_TASKS.items():
    TASKS.register(_name, GlueEntry(_spec))
for _squad in (SQUAD, SQUAD_V2):
    TASKS.register(_squad.name, SquadEntry(_squad))


def task_name(spec: str) -> str:
    """The registry name of a task in any accepted spelling: ``sst2``, ``glue:sst2``, ``SST-2``, ``squad``,
    ``squad_v2`` ...

    The one task syntax of every command; an unknown name is :class:`BadInput` with a "did you mean".
    """
    text = spec.strip()
    kind, sep, rest = text.partition(":")
    if sep and kind.strip().lower() == "glue":
        text = rest.strip()
    squad = squad_task(text)
    if squad is not None:
        return squad.name
    # GLUE's own aliases (SST-2, sst_2, MNLI-matched ...) and its did-you-mean.
    return resolve_task(text).name


def get_task(name: str) -> TaskEntry:
    """The entry of ``name`` in any accepted spelling (:func:`task_name`)."""
    return TASKS.get(task_name(name))
