"""Which GLUE tasks eval-glue scores (``--task``) and which model folder scores each (``--model``)."""

from __future__ import annotations

from pathlib import Path

from distilcli.config import parse_list
from distilcli.errors import BadInput
from distilcli.models.loading import load_config
from distilcli.models.resolve import resolve_model
from distilcli.tasks.glue.spec import GLUE_TASKS, GlueTask, resolve_task, squash_name
from distilcli.tasks.heads import task_of
from distilcli.tasks.registry import task_name


def glue_task(spec: str) -> GlueTask:
    """A GLUE task in the one task syntax of every command (``sst2``, ``glue:sst2``, ``SST-2`` ...)."""
    name = task_name(spec)
    if name not in GLUE_TASKS:
        raise BadInput(f"{spec!r} is not a GLUE task: eval-glue scores GLUE tasks (distil eval-squad scores {name})")
    return GLUE_TASKS.get(name)


def parse_tasks(text: str) -> list[GlueTask]:
    """``all``, one task, or a comma-separated list (any usual spelling), in GLUE order, without repeats."""
    names = parse_list(text, "--task", str, example="sst2,mrpc or all")
    if any(name.lower() == "all" for name in names):
        return [GLUE_TASKS.get(name) for name in GLUE_TASKS]
    tasks: list[GlueTask] = []
    for name in names:
        task = glue_task(name)
        if task not in tasks:
            tasks.append(task)
    return tasks


def assign_models(specs: list[str], tasks: list[GlueTask]) -> dict[str, Path | None]:
    """The model folder for each task (None: no model given for it).

    ``--model TASK=DIR`` names a task's model; ``--model DIR`` is the model of a single
    task, or, for several tasks, either a folder of per-task models (``DIR/sst2``,
    ``DIR/SST-2`` ...) or one model used for the task it was fine-tuned on. MNLI-mm uses
    the MNLI model unless given its own.
    """
    explicit, root = _split_specs(specs)
    assigned = {task.name: _explicit_model(task, explicit) for task in tasks}
    if root is not None:
        if len(tasks) == 1 and assigned[tasks[0].name] is None:
            assigned[tasks[0].name] = root
        else:
            _assign_from_folder(root, tasks, assigned)
    return assigned


def _split_specs(specs: list[str]) -> tuple[dict[str, Path], Path | None]:
    """(``TASK=DIR`` models by task name, the one plain ``DIR`` if given)."""
    explicit: dict[str, Path] = {}
    plain: list[Path] = []
    for spec in specs:
        name, sep, folder = spec.partition("=")
        if sep and not Path(spec).exists():
            explicit[glue_task(name).name] = resolve_model(folder).path
        elif Path(spec).is_dir() and not (Path(spec) / "config.json").exists():
            plain.append(Path(spec).resolve())  # a folder of per-task models
        else:
            plain.append(resolve_model(spec).path)
    if len(plain) > 1:
        raise BadInput(
            "several --model folders without a task: name each one's task, e.g. --model sst2=DIR --model mrpc=DIR"
        )
    return explicit, plain[0] if plain else None


def _explicit_model(task: GlueTask, explicit: dict[str, Path]) -> Path | None:
    """The ``TASK=DIR`` model of ``task``; MNLI-mm falls back on MNLI's."""
    sibling = "mnli" if task.name == "mnli-mm" else None
    for name in (task.name, sibling):
        if name and name in explicit:
            return explicit[name]
    return None


def _assign_from_folder(root: Path, tasks: list[GlueTask], assigned: dict[str, Path | None]) -> None:
    """Fill the tasks still without a model from ``root``: its per-task subfolders, or ``root`` itself."""
    is_model = (root / "config.json").is_file()
    provenance = task_of(load_config(resolve_model(str(root)))) if is_model else None
    for task in tasks:
        if assigned[task.name] is not None:
            continue
        found = _task_subfolder(root, task)
        if found is None and provenance is not None and resolve_task(provenance).hub_config == task.hub_config:
            found = root  # the model was fine-tuned on this task (MNLI's serves MNLI-mm too)
        assigned[task.name] = found


def _task_folder_names(task: GlueTask) -> set[str]:
    return {squash_name(task.name), squash_name(task.display_name), squash_name(task.folder)}


def _task_subfolder(root: Path, task: GlueTask) -> Path | None:
    """A model folder under ``root`` named after ``task`` (any usual spelling); MNLI's for MNLI-mm."""
    candidates = [task] + ([GLUE_TASKS.get("mnli")] if task.name == "mnli-mm" else [])
    for candidate in candidates:
        names = _task_folder_names(candidate)
        for child in sorted(root.iterdir()):
            if child.is_dir() and squash_name(child.name) in names and (child / "config.json").is_file():
                return child
    return None
