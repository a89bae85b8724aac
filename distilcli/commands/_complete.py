"""Shell completion of option values: task names, model aliases (and folders), benchmark backends.

Typer calls these with the word being typed on every TAB, so they import only the light tables
(never torch or transformers). Comma-separated options complete their last item.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import typer

#: A completion: the value, and the help text zsh and fish show beside it.
Item = tuple[str, str]


def _matching(candidates: Iterable[Item], incomplete: str) -> list[Item]:
    """The candidates starting with ``incomplete`` (case-sensitive, as shells match), each value once, in order."""
    seen: set[str] = set()
    found = []
    for value, help_text in candidates:
        if value.startswith(incomplete) and value not in seen:
            seen.add(value)
            found.append((value, help_text))
    return found


def _last_item(incomplete: str, candidates: Iterable[Item]) -> list[Item]:
    """Complete the last item of a comma-separated list, keeping the items before it."""
    head, comma, last = incomplete.rpartition(",")
    prefix = head + comma
    return [(prefix + value, help_text) for value, help_text in _matching(candidates, last)]


def task_names(distill_form: bool = False) -> list[Item]:
    """Every task name: GLUE's (canonical, display spelling, aliases), then squad and squad_v2.

    ``distill_form``: GLUE tasks as ``distill --task`` takes them, ``glue:<name>``.
    """
    from distilcli.tasks.glue.spec import GLUE_TASKS, squash_name, task_aliases
    from distilcli.tasks.squad.data import SQUAD, SQUAD_V2

    glue: list[Item] = []
    for name, task in GLUE_TASKS.items():
        glue += [(name, f"GLUE {task.display_name}"), (task.display_name, f"GLUE {task.display_name}")]
    # The other accepted spellings (mnlimatched, stsbenchmark); a name's own squashed form adds nothing.
    squashed = {squash_name(name) for name in GLUE_TASKS}
    glue += [
        (alias, f"GLUE {GLUE_TASKS.get(name).display_name}")
        for alias, name in task_aliases().items()
        if alias not in squashed
    ]
    if distill_form:
        glue = [(f"glue:{value}", help_text) for value, help_text in glue]
    return glue + [(task.name, task.display_name) for task in (SQUAD, SQUAD_V2)]


def complete_task(ctx: typer.Context, incomplete: str) -> list[Item]:
    """``--task``: per command, the form it takes (``glue:<name>`` for distill, lists and ``all`` for eval-glue)."""
    command = ctx.command.name if ctx.command else None
    if command == "distill":
        return _matching(task_names(distill_form=True), incomplete)
    if command == "eval-glue":
        glue = [item for item in task_names() if not item[0].startswith("squad")]
        return _last_item(incomplete, [("all", "every GLUE task"), *glue])
    if command == "eval-squad":
        return _matching([item for item in task_names() if item[0].startswith("squad")], incomplete)
    return _matching(task_names(), incomplete)


def _folders(incomplete: str) -> list[Item]:
    """Local folders whose path starts with ``incomplete`` (a model is a folder), ``/``-terminated."""
    path = Path(incomplete).expanduser()
    parent, stem = (path, "") if incomplete.endswith(os.sep) or not incomplete else (path.parent, path.name)
    try:
        entries = sorted(parent.iterdir()) if parent.is_dir() else []
    except OSError:
        return []
    shown_parent = "" if not incomplete or os.sep not in incomplete else incomplete[: incomplete.rfind(os.sep) + 1]
    return [
        (shown_parent + entry.name + os.sep, "model folder" if (entry / "config.json").is_file() else "folder")
        for entry in entries
        if entry.is_dir() and entry.name.startswith(stem) and not entry.name.startswith(".")
    ]


def complete_model(incomplete: str) -> list[Item]:
    """A model: the packaged aliases, then local folders."""
    from distilcli.models.aliases import ALIASES

    aliases = [(name, alias.description) for name, alias in ALIASES.items()]
    return _matching(aliases, incomplete) + _folders(incomplete)


def complete_backend(incomplete: str) -> list[Item]:
    """``benchmark --backend``: eager and/or onnx, comma-separated."""
    from distilcli.benchmark.config import BACKENDS

    helps = {"eager": "PyTorch", "onnx": "ONNX Runtime (distilcli[onnx])"}
    return _last_item(incomplete, [(name, helps.get(name, "")) for name in BACKENDS])


def complete_quantize(incomplete: str) -> list[Item]:
    """``--quantize``: none or dynamic-int8 (benchmark takes both, comma-separated)."""
    from distilcli.benchmark.config import QUANTIZATIONS

    return _last_item(incomplete, [(name, "") for name in QUANTIZATIONS])
