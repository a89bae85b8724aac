"""Where each option acts: a flag given on the command line where it would change nothing is refused.

The config dataclasses hold every option of a command, whatever its mode, with defaults that are not
``None``; the command line is where a user says what they want. ``distil distill --n-best 5`` without
SQuAD, or ``--mlm-probability 0.2`` with ``--task sst2``, would otherwise run and silently ignore the
flag. Each function here maps the fields that do nothing in a config's mode to the sentence that says
where they act and what to do; the commands refuse the ones given on their command line (exit 2).
A ``--config`` file may keep options for other modes: only the command line is checked.
"""

from __future__ import annotations

from typing import Any

#: SQuAD's window and answer options: no GLUE task reads them.
SQUAD_ONLY = ("doc_stride", "max_query_length", "n_best", "max_answer_length", "null_threshold")
#: A custom CSV/JSONL classification set's columns: SQuAD files have their own fields.
SENTENCE_TASK_ONLY = ("text_a", "text_b", "label_column")


def flag_of(field: str) -> str:
    """The command-line flag of a config field (``n_best`` -> ``--n-best``)."""
    return "--" + field.replace("_", "-")


def task_scope(task_is_squad: bool) -> dict[str, str]:
    """The task options that do nothing for this kind of task (SQuAD's on GLUE, the columns on SQuAD)."""
    if task_is_squad:
        return dict.fromkeys(SENTENCE_TASK_ONLY, "names a column of a GLUE-style CSV/JSONL set, not of SQuAD")
    return dict.fromkeys(SQUAD_ONLY, "is an option of SQuAD: use it with --task squad or squad_v2")


def inert_given(given: dict[str, Any], inert: dict[str, str]) -> str | None:
    """The message for the first option of ``given`` (a command's values, ``None`` = not given) in ``inert``."""
    for field, value in given.items():
        if value is not None and field in inert:
            return f"{flag_of(field)} {inert[field]}: leave it out"
    return None
