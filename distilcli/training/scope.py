"""Where each option acts: a flag given on the command line where it would change nothing is refused.

The config dataclasses hold every option of a command, whatever its mode, with defaults that are not
``None``; the command line is where a user says what they want. ``distil distill --n-best 5`` without
SQuAD, or ``--mlm-probability 0.2`` with ``--task sst2``, would otherwise run and silently ignore the
flag. Each function here maps the fields that do nothing in a config's mode to the sentence that says
where they act (and, after a colon, what to add instead); the commands refuse the ones given on their
command line (exit 2), and the pipeline the ones a recipe sets for a stage. A ``--config`` file may
keep these options for other modes: it is not checked against these tables.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from distilcli.errors import BadInput

#: SQuAD's window and answer options: no GLUE task reads them.
SQUAD_ONLY = ("doc_stride", "max_query_length", "n_best", "max_answer_length", "null_threshold")
#: A custom CSV/JSONL classification set's columns: SQuAD files have their own fields.
SENTENCE_TASK_ONLY = ("text_a", "text_b", "label_column")


def flag_of(field: str, value: Any = True) -> str:
    """The command-line flag of a config field (``n_best`` -> ``--n-best``; a switch set to False -> ``--no-x``)."""
    return ("--no-" if value is False else "--") + field.replace("_", "-")


def task_scope(task_is_squad: bool) -> dict[str, str]:
    """The task options that do nothing for this kind of task (SQuAD's on GLUE, the columns on SQuAD)."""
    if task_is_squad:
        return dict.fromkeys(SENTENCE_TASK_ONLY, "names a column of a GLUE-style CSV/JSONL set, not of SQuAD")
    return dict.fromkeys(SQUAD_ONLY, "is an option of SQuAD (--task squad or squad_v2), not of this task")


def inert_given(given: dict[str, Any], inert: dict[str, str]) -> str | None:
    """The message for the first option of ``given`` (a command's values, ``None`` = not given) in ``inert``.

    A reason that names a fix after a colon gets ", or leave it out"; any other gets ": leave it out".
    """
    for field, value in given.items():
        if value is not None and field in inert:
            reason = inert[field]
            return f"{flag_of(field, value)} {reason}{', or' if ': ' in reason else ':'} leave it out"
    return None


def refuse_inert(given: dict[str, Any], inert: dict[str, str]) -> None:
    """:class:`BadInput` (exit 2) on the first option of ``given`` that ``inert`` says does nothing here."""
    problem = inert_given(given, inert)
    if problem:
        raise BadInput(problem)


def inert_check(given: dict[str, Any], inert_of: Callable[[Any], dict[str, str]]) -> Callable[[Any], None]:
    """The check a command gives ``build_config``: refuse ``given``'s options that ``inert_of(config)`` lists.

    A ``--resume`` is let through: it runs with its own saved options, whatever they were.
    """

    def check(config: Any) -> None:
        if not config.resume:
            refuse_inert(given, inert_of(config))

    return check
