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


def add_retention(scores: dict[str, float], teacher: dict[str, float], metrics: dict[str, float]) -> dict[str, Any]:
    """Per-task retention (score / teacher's) and the macro retention over the tasks both have.

    The retentions go into ``metrics``; the returned dict is the report's ``retention`` body.
    """
    common = [name for name in scores if name in teacher and teacher[name] != 0]
    for name in common:
        metrics[f"{name}.retention"] = retention(scores[name], teacher[name])
    body: dict[str, Any] = {"teacher_scores": teacher, "common_tasks": common}
    if len(common) > 1:
        student_macro = macro_score({n: scores[n] for n in common})
        teacher_macro = macro_score({n: teacher[n] for n in common})
        metrics["macro_retention"] = retention(student_macro, teacher_macro)
        body |= {"student_macro": student_macro, "teacher_macro": teacher_macro}
    return body


def check_predictions_out(path: Path | None, n_tasks: int) -> None:
    """``--predictions-out`` is a file for one task, a folder for several: refuse what is in the way."""
    if path is None:
        return
    if n_tasks == 1:
        check_output_file(path)
    elif Path(path).exists() and not Path(path).is_dir():
        raise BadInput(
            f"--predictions-out {path}: with several tasks this is a folder (one TSV per task), and a file is in the way"
        )


def predictions_tsv(split: GlueSplit, predictions: Any) -> str:
    """``index``/``prediction`` rows in dev-file order, labels written as the file writes them.

    ``index`` is the 0-based data row of the dev file (not its own index column, if any).
    """
    lines = ["index\tprediction"]
    lines += [f"{row}\t{split.label_as_written(value)}" for row, value in enumerate(predictions)]
    return "\n".join(lines) + "\n"


def write_predictions(
    path: Path | None, predictions: dict[str, tuple[GlueSplit, Any]], several: bool
) -> dict[str, str]:
    """Write each task's predictions (``path`` itself, or ``path/<Task>.tsv`` when ``several``); task -> file."""
    if path is None:
        return {}
    written: dict[str, str] = {}
    for name, (split, values) in predictions.items():
        target = Path(path) / f"{split.task.display_name}.tsv" if several else Path(path)
        if several:
            target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(target, predictions_tsv(split, values))
        written[name] = str(target)
    return written
