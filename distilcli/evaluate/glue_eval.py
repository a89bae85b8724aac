"""``run_eval_glue``: score fine-tuned models on GLUE dev sets, with retention and CI gates.

Order of work: parse the gates, read every dev file, resolve every model folder, and
only then load weights. So a malformed row, a bad ``--fail-under`` or a missing model
fails in seconds with exit 2 and no report.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from distilcli import progress
from distilcli.config import config_to_dict
from distilcli.tasks.glue.sources import ColumnMap, GlueSplit
from distilcli.tasks.glue.spec import GLUE_TASKS, GlueTask, resolve_task, squash_name
from distilcli.errors import BadInput
from distilcli.reports import Report

#: Sub-metric names a gate may use, with the usual short spellings.
_METRIC_ALIASES = {
    "accuracy": "accuracy", "acc": "accuracy", "f1": "f1",
    "matthews_correlation": "matthews_correlation", "mcc": "matthews_correlation", "matthews": "matthews_correlation",
    "pearson": "pearson", "spearmanr": "spearmanr", "spearman": "spearmanr",
    "score": "score", "retention": "retention",
}  # fmt: skip
_GLOBAL_ALIASES = {"macro": "macro_score", "macro_score": "macro_score", "macro_retention": "macro_retention"}
_ALL_TASKS = ("cola", "sst2", "mrpc", "stsb", "qqp", "mnli", "mnli-mm", "qnli", "rte", "wnli")


@dataclass
class EvalGlueConfig:
    """Options of ``distil eval-glue``."""

    model: list[str]
    task: str = "all"
    glue_dir: Path | None = None
    hub_dir: Path | None = None
    dev_file: Path | None = None
    text_a: str | None = None
    text_b: str | None = None
    label_column: str | None = None
    batch_size: int = 128
    max_seq_length: int | None = None
    predictions_out: Path | None = None
    teacher_report: Path | None = None
    fail_under: list[str] = field(default_factory=list)


# -- gates ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Gate:
    """``--fail-under METRIC=VALUE``: ``task`` None means every evaluated task with that metric."""

    spec: str
    task: str | None
    metric: str
    bar: float

    def keys(self, metrics: dict[str, float], evaluated: list[str]) -> list[str]:
        if self.metric in ("macro_score", "macro_retention"):
            return [self.metric]
        if self.task is not None:
            return [f"{self.task}.{self.metric}"]
        return [f"{task}.{self.metric}" for task in evaluated if f"{task}.{self.metric}" in metrics]


def split_gate(spec: str, example: str) -> tuple[str, float]:
    """``METRIC=VALUE`` as (the metric name as written, a finite bar); ``example`` shows the form in errors."""
    name, sep, raw = spec.partition("=")
    name = name.strip()
    if not sep or not name:
        raise BadInput(f"--fail-under {spec!r}: expected METRIC=VALUE, e.g. {example}")
    try:
        bar = float(raw)
    except ValueError:
        raise BadInput(f"--fail-under {spec!r}: {raw.strip()!r} is not a number") from None
    if not math.isfinite(bar):
        raise BadInput(f"--fail-under {spec!r}: the bar must be a finite number")
    return name, bar


def parse_gate(spec: str) -> Gate:
    """Parse ``accuracy=0.9``, ``sst2.accuracy=0.9``, ``macro=0.75`` or ``retention=0.97``."""
    name, bar = split_gate(spec, "accuracy=0.9 or sst2.accuracy=0.9")
    name = name.lower()
    task: str | None = None
    if name in _GLOBAL_ALIASES:
        metric = _GLOBAL_ALIASES[name]
    else:
        prefix, dot, rest = name.rpartition(".")
        if dot:
            task = resolve_task(prefix).name
        metric_key = rest if dot else name
        if metric_key not in _METRIC_ALIASES:
            known = ", ".join(sorted({*_METRIC_ALIASES.values(), "macro"}))
            raise BadInput(f"--fail-under {spec!r}: unknown metric {metric_key!r} (known: {known})")
        metric = _METRIC_ALIASES[metric_key]
        if task is not None and metric not in ("score", "retention") and metric not in GLUE_TASKS.get(task).metrics:
            have = ", ".join(GLUE_TASKS.get(task).metrics)
            raise BadInput(f"--fail-under {spec!r}: {GLUE_TASKS.get(task).display_name} has no {metric} (it has {have}, score)")
    if "retention" not in metric and abs(bar) > 1:
        raise BadInput(f"--fail-under {spec!r}: metrics are fractions (0.9 means 90%); write {name}={bar / 100:g}")
    return Gate(spec, task, metric, bar)


def check_gates(gates: list[Gate], metrics: dict[str, float], evaluated: list[str]) -> list[dict[str, Any]]:
    """Each gate's outcome; a gate whose metric was not produced fails (a CI gate must not pass by absence)."""
    outcomes = []
    for gate in gates:
        keys = gate.keys(metrics, evaluated)
        if not keys or any(key not in metrics for key in keys):
            outcomes.append({"gate": gate.spec, "metric": ", ".join(keys) or gate.metric, "bar": gate.bar, "value": None, "passed": False, "reason": "not measured"})
            continue
        for key in keys:
            value = metrics[key]
            outcomes.append({"gate": gate.spec, "metric": key, "bar": gate.bar, "value": value, "passed": value >= gate.bar})
    return outcomes


# -- tasks and their models ------------------------------------------------------------------------


def parse_tasks(text: str) -> list[GlueTask]:
    """``all``, one task, or a comma-separated list (any usual spelling), in GLUE order, without repeats."""
    names = [part for part in text.replace(" ", "").split(",") if part]
    if not names:
        raise BadInput("--task is empty: give a GLUE task (e.g. sst2), a comma-separated list or all")
    if any(name.lower() == "all" for name in names):
        return [GLUE_TASKS.get(name) for name in _ALL_TASKS]
    tasks: list[GlueTask] = []
    for name in names:
        task = resolve_task(name)
        if task not in tasks:
            tasks.append(task)
    return tasks


def _task_folder_names(task: GlueTask) -> set[str]:
    return {squash_name(task.name), squash_name(task.display_name), squash_name(task.folder)}


def assign_models(specs: list[str], tasks: list[GlueTask]) -> dict[str, Path | None]:
    """The model folder for each task (None: no model given for it).

    ``--model TASK=DIR`` names a task's model; ``--model DIR`` is the model of a single
    task, or, for several tasks, either a folder of per-task models (``DIR/sst2``,
    ``DIR/SST-2`` ...) or one model used for the task it was fine-tuned on. MNLI-mm uses
    the MNLI model unless given its own.
    """
    from distilcli.tasks.heads import task_of
    from distilcli.models.loading import load_config
    from distilcli.models.resolve import resolve_model

    explicit: dict[str, Path] = {}
    plain: list[Path] = []
    for spec in specs:
        name, sep, folder = spec.partition("=")
        if sep and not Path(spec).exists():
            explicit[resolve_task(name).name] = resolve_model(folder).path
        elif Path(spec).is_dir() and not (Path(spec) / "config.json").exists():
            plain.append(Path(spec).resolve())  # a folder of per-task models
        else:
            plain.append(resolve_model(spec).path)
    if len(plain) > 1:
        raise BadInput("several --model folders without a task: name each one's task, e.g. --model sst2=DIR --model mrpc=DIR")
    assigned: dict[str, Path | None] = {task.name: None for task in tasks}
    for task in tasks:
        sibling = "mnli" if task.name == "mnli-mm" else None
        for name in (task.name, sibling):
            if name and name in explicit:
                assigned[task.name] = explicit[name]
                break
    if plain:
        root = plain[0]
        if len(tasks) == 1 and assigned[tasks[0].name] is None:
            assigned[tasks[0].name] = root
        else:
            is_model = (root / "config.json").is_file()
            provenance = task_of(load_config(resolve_model(str(root)))) if is_model else None
            for task in tasks:
                if assigned[task.name] is not None:
                    continue
                candidates = [task] + ([GLUE_TASKS.get("mnli")] if task.name == "mnli-mm" else [])
                found = None
                for candidate in candidates:
                    names = _task_folder_names(candidate)
                    found = next(
                        (child for child in sorted(root.iterdir())
                         if child.is_dir() and squash_name(child.name) in names and (child / "config.json").is_file()),
                        None,
                    )  # fmt: skip
                    if found:
                        break
                if found is None and provenance is not None and resolve_task(provenance).hub_config == task.hub_config:
                    found = root
                assigned[task.name] = found
    return assigned


# -- the run --------------------------------------------------------------------------------------


@dataclass
class TaskResult:
    task: GlueTask
    status: str  # "ok" or "missing"
    reason: str | None = None
    split: GlueSplit | None = None
    model: Path | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    predictions: Any = None
    seconds: float = 0.0


def run_eval_glue(cfg: EvalGlueConfig) -> tuple[Report, list[dict[str, Any]]]:
    """Evaluate; return the report and the gate outcomes (the caller writes, then exits 3 on a failure)."""
    import torch

    from distilcli.tasks.glue.sources import load_task_split
    from distilcli.tasks.glue.metrics import macro_score
    from distilcli.tasks.glue.predict import logits_to_predictions, predict_logits
    from distilcli.tasks.glue.features import encode
    from distilcli.tasks.glue.head import load_classifier
    from distilcli.tasks.glue.metrics import score_predictions
    from distilcli.models.resolve import resolve_model

    start = time.perf_counter()
    if not cfg.model:
        raise BadInput("missing required option --model: a fine-tuned model folder (or TASK=DIR, repeatable)")
    if cfg.batch_size <= 0:
        raise BadInput(f"--batch-size must be > 0, got {cfg.batch_size}")
    if cfg.max_seq_length is not None and cfg.max_seq_length < 8:
        raise BadInput(f"--max-seq-length {cfg.max_seq_length} is too short: use at least 8")
    gates = [parse_gate(spec) for spec in cfg.fail_under]
    if any("retention" in gate.metric for gate in gates) and cfg.teacher_report is None:
        raise BadInput("--fail-under on retention needs --teacher-report FILE (an eval-glue report of the teacher)")
    tasks = parse_tasks(cfg.task)
    if cfg.dev_file is not None and len(tasks) != 1:
        raise BadInput("--dev-file goes with a single --task (the file holds one task's dev set)")
    teacher = _teacher_scores(cfg.teacher_report) if cfg.teacher_report else None
    _check_predictions_out(cfg.predictions_out, len(tasks))

    # Data first: every dev file is read (and a bad row refused) before any model is loaded.
    use_hub = cfg.glue_dir is None and cfg.hub_dir is None and cfg.dev_file is None
    columns = ColumnMap(cfg.text_a, cfg.text_b, cfg.label_column)
    results: dict[str, TaskResult] = {}
    for task in tasks:
        split = load_task_split(
            task, "dev", glue_dir=cfg.glue_dir, hub_dir=cfg.hub_dir, file=cfg.dev_file, columns=columns, use_hub=use_hub
        )
        if split is None:
            where = " or ".join(f"{flag} {v}" for flag, v in (("--glue-dir", cfg.glue_dir), ("--hub-dir", cfg.hub_dir)) if v)
            results[task.name] = TaskResult(task, "missing", f"no dev file in {where}")
        elif not split.examples:
            raise BadInput(f"{split.source}: no examples in the {task.display_name} dev data")
        else:
            results[task.name] = TaskResult(task, "ok", split=split)
    models = assign_models(cfg.model, tasks)
    for name, result in results.items():
        if result.status == "ok" and models[name] is None:
            result.status, result.reason = "missing", "no model for this task among --model"
        result.model = models[name]
    if len(tasks) == 1 and results[tasks[0].name].status == "missing":
        raise BadInput(f"{tasks[0].display_name}: {results[tasks[0].name].reason}; point --glue-dir, --hub-dir or --dev-file at its dev set")
    # Every model's config is checked (labels, recorded task) before any weights are read.
    from distilcli.tasks.glue.head import check_classifier_config

    for result in results.values():
        if result.status == "ok" and result.model is not None:
            check_classifier_config(resolve_model(str(result.model)), result.task)
    if not any(r.status == "ok" for r in results.values()):
        reasons = "; ".join(f"{r.task.display_name}: {r.reason}" for r in results.values())
        raise BadInput(f"no task could be evaluated ({reasons})")

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    loaded_cache: dict[tuple[Path, str], Any] = {}
    for result in results.values():
        if result.status != "ok":
            continue
        task, split = result.task, result.split
        assert split is not None and result.model is not None
        key = (result.model, task.hub_config)
        if key not in loaded_cache:
            loaded_cache.clear()  # one model in memory at a time; MNLI-m and -mm share theirs
            loaded_cache[key] = load_classifier(resolve_model(str(result.model)), task, for_training=False)
        loaded = loaded_cache[key]
        loaded.model.to(device)
        max_len = cfg.max_seq_length or _trained_length(loaded.model.config)
        began = time.perf_counter()
        features = encode(split.examples, loaded.tokenizer, loaded.adapter, max_len)
        logits = predict_logits(
            loaded.model, features, loaded.tokenizer.pad_token_id, batch_size=cfg.batch_size, device=device,
            description=f"{task.display_name} dev",
        )  # fmt: skip
        result.predictions = logits_to_predictions(logits, task.is_regression, loaded.label_permutation)
        result.metrics = score_predictions(task, result.predictions, [e.label for e in split.examples])
        result.seconds = time.perf_counter() - began
        shown = "  ".join(f"{k} {v:.4f}" for k, v in result.metrics.items() if k != "score")
        progress.log(f"{task.display_name}: {shown}  ({len(split.examples):,} examples, {result.seconds:.1f} s)")

    written = _write_predictions(cfg.predictions_out, results)
    metrics: dict[str, float] = {}
    evaluated = [name for name, r in results.items() if r.status == "ok"]
    for name in evaluated:
        for metric, value in results[name].metrics.items():
            metrics[f"{name}.{metric}"] = value
    scores = {name: results[name].metrics["score"] for name in evaluated}
    if len(tasks) > 1:
        metrics["macro_score"] = macro_score(scores)
    retention_body: dict[str, Any] | None = None
    if teacher is not None:
        retention_body = _retention(scores, teacher, metrics)
    outcomes = check_gates(gates, metrics, evaluated)
    body = {
        "tasks": {
            name: {
                "display_name": r.task.display_name,
                "status": r.status,
                "reason": r.reason,
                "model": None if r.model is None else str(r.model),
                "dev_source": None if r.split is None else r.split.source,
                "examples": None if r.split is None else len(r.split.examples),
                "metrics": r.metrics,
                "primary_metric": r.task.primary_metric,
                "seconds": round(r.seconds, 3),
                "examples_per_s": (len(r.split.examples) / r.seconds) if r.split is not None and r.seconds > 0 else None,
                "predictions": written.get(name),
            }
            for name, r in results.items()
        },
        "evaluated": evaluated,
        "missing": [name for name, r in results.items() if r.status != "ok"],
        # The paper's macro counts MNLI once: matched, when both are there.
        "macro_over": [n for n in evaluated if not (n == "mnli-mm" and "mnli" in evaluated)] if len(tasks) > 1 else [],
        "retention": retention_body,
        "gates": outcomes,
        "device": str(device),
    }
    primary = f"{evaluated[0]}.{results[evaluated[0]].task.primary_metric}" if len(tasks) == 1 else "macro_score"
    artifacts = {f"predictions.{name}": path for name, path in written.items()}
    report = Report.create(
        "eval-glue", config=config_to_dict(cfg), metrics=metrics, primary_metric=primary,
        artifacts=artifacts, body=body, duration_s=time.perf_counter() - start,
    )  # fmt: skip
    return report, outcomes


def _trained_length(config: Any) -> int:
    """The length the model was fine-tuned with (distilcli provenance), else 128."""
    info = getattr(config, "distilcli", None)
    if isinstance(info, dict) and isinstance(info.get("finetune"), dict):
        return int(info["finetune"].get("max_seq_length") or 128)
    return 128


def _teacher_scores(path: Path) -> dict[str, float]:
    from distilcli.reports import load_report

    report = load_report(Path(path))
    if report.command != "eval-glue":
        raise BadInput(f"--teacher-report {path} is a `{report.command}` report: pass the teacher's eval-glue report")
    scores = {key.rsplit(".", 1)[0]: value for key, value in report.metrics.items() if key.endswith(".score")}
    if not scores:
        raise BadInput(f"--teacher-report {path} holds no task scores")
    return scores


def _retention(scores: dict[str, float], teacher: dict[str, float], metrics: dict[str, float]) -> dict[str, Any]:
    """Per-task retention (score / teacher's) and the macro retention over the tasks both have."""
    from distilcli.tasks.glue.metrics import macro_score, retention

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


def _check_predictions_out(path: Path | None, n_tasks: int) -> None:
    from distilcli.fsutil import check_output_file

    if path is None:
        return
    if n_tasks == 1:
        check_output_file(path)
    elif Path(path).exists() and not Path(path).is_dir():
        raise BadInput(f"--predictions-out {path}: with several tasks this is a folder (one TSV per task), and a file is in the way")


def predictions_tsv(split: GlueSplit, predictions: Any) -> str:
    """``index``/``prediction`` rows in dev-file order, labels written as the file writes them.

    ``index`` is the 0-based data row of the dev file (not its own index column, if any).
    """
    lines = ["index\tprediction"]
    lines += [f"{row}\t{split.label_as_written(value)}" for row, value in enumerate(predictions)]
    return "\n".join(lines) + "\n"


def _write_predictions(path: Path | None, results: dict[str, TaskResult]) -> dict[str, str]:
    from distilcli.fsutil import atomic_write_text

    if path is None:
        return {}
    written: dict[str, str] = {}
    evaluated = [r for r in results.values() if r.status == "ok"]
    several = len(results) > 1
    for result in evaluated:
        assert result.split is not None
        target = Path(path) / f"{result.task.display_name}.tsv" if several else Path(path)
        if several:
            target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(target, predictions_tsv(result.split, result.predictions))
        written[result.task.name] = str(target)
    return written

