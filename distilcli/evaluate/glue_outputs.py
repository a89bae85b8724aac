"""What eval-glue adds around the scores: retention against a teacher's report, prediction files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from distilcli.errors import BadInput
from distilcli.fsutil import atomic_write_text, check_output_file
from distilcli.reports import load_report
from distilcli.tasks.glue.metrics import macro_score, retention
from distilcli.tasks.glue.sources import GlueSplit


def teacher_scores(path: Path) -> dict[str, float]:
    """Each task's score in the teacher's eval-glue report, else :class:`BadInput`."""
    report = load_report(Path(path))
    if report.command != "eval-glue":
        raise BadInput(f"--teacher-report {path} is a `{report.command}` report: pass the teacher's eval-glue report")
    scores = {key.rsplit(".", 1)[0]: value for key, value in report.metrics.items() if key.endswith(".score")}
    if not scores:
        raise BadInput(f"--teacher-report {path} holds no task scores")
    return scores


def macro_tasks(names: list[str]) -> list[str]:
    """The tasks a macro over ``names`` averages: the paper counts MNLI once (matched), so MNLI-mm
    only stands in for an absent MNLI."""
    return [name for name in names if not (name == "mnli-mm" and "mnli" in names)]


def aggregate_name(plain: str, complete: bool) -> str:
    """An aggregate keeps its plain name only over every task of its set, else it says it is partial."""
    return plain if complete else f"{plain}_partial"


def add_macro(scores: dict[str, float], asked: list[str], metrics: dict[str, float]) -> dict[str, Any]:
    """The macro score of the scored tasks, as ``macro_score`` when every task asked for was scored.

    Otherwise it is ``macro_score_partial``, so a CI gate on ``macro`` can never pass on one task
    of nine. The metric goes into ``metrics``; the returned dict is the report's ``macro`` body.
    """
    expected = macro_tasks(asked)
    measured = [name for name in expected if name in scores]
    name = aggregate_name("macro_score", len(measured) == len(expected))
    if scores:
        metrics[name] = macro_score(scores)
    return {
        "metric": name,
        "over": macro_tasks(list(scores)),
        "tasks_measured": len(measured),
        "tasks_expected": len(expected),
        "missing": [n for n in expected if n not in scores],
    }


def add_retention(
    scores: dict[str, float], teacher: dict[str, float], metrics: dict[str, float], asked: list[str]
) -> dict[str, Any]:
    """Per-task retention (score / teacher's) and the macro retention over the tasks both have.

    The macro retention is ``macro_retention`` only when both have every task asked for, else
    ``macro_retention_partial``. The retentions go into ``metrics``; the returned dict is the
    report's ``retention`` body.
    """
    common = [name for name in scores if name in teacher and teacher[name] != 0]
    for name in common:
        metrics[f"{name}.retention"] = retention(scores[name], teacher[name])
    body: dict[str, Any] = {"teacher_scores": teacher, "common_tasks": common}
    if len(common) > 1:
        expected = macro_tasks(asked)
        measured = [name for name in expected if name in common]
        name = aggregate_name("macro_retention", len(measured) == len(expected))
        student_macro = macro_score({n: scores[n] for n in common})
        teacher_macro = macro_score({n: teacher[n] for n in common})
        metrics[name] = retention(student_macro, teacher_macro)
        body |= {"student_macro": student_macro, "teacher_macro": teacher_macro, "metric": name}
        body |= {"tasks_measured": len(measured), "tasks_expected": len(expected)}
    return body


def check_predictions_out(path: Path | None, n_tasks: int) -> None:
    """``--predictions-out`` is a file for one task, a folder for several: refuse what is in the way."""
    if path is None:
        return
    if n_tasks == 1:
        check_output_file(path)
    elif Path(path).exists() and not Path(path).is_dir():
        raise BadInput(
            f"--predictions-out {path}: with several tasks this is a folder (one TSV per task), "
            "and a file is in the way"
        )


def predictions_tsv(split: GlueSplit, predictions: Any, rows: list[int] | None = None) -> str:
    """``index``/``prediction`` rows in dev-file order, labels written as the file writes them.

    ``index`` is the 0-based data row of the dev file (not its own index column, if any);
    ``rows`` gives each prediction's row when a ``--limit`` subsample was scored.
    """
    rows = list(range(len(predictions))) if rows is None else rows
    lines = ["index\tprediction"]
    lines += [f"{row}\t{split.label_as_written(value)}" for row, value in zip(rows, predictions, strict=True)]
    return "\n".join(lines) + "\n"


def write_predictions(
    path: Path | None, predictions: dict[str, tuple[GlueSplit, Any, list[int] | None]], several: bool
) -> dict[str, str]:
    """Write each task's predictions (``path`` itself, or ``path/<Task>.tsv`` when ``several``); task -> file.

    Each task gives (its split, its predictions, the dev-file row of each, None for every row).
    """
    if path is None:
        return {}
    written: dict[str, str] = {}
    for name, (split, values, rows) in predictions.items():
        target = Path(path) / f"{split.task.display_name}.tsv" if several else Path(path)
        if several:
            target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(target, predictions_tsv(split, values, rows))
        written[name] = str(target)
    return written
